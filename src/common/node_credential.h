// A node's credential and what is derived from it (docs/api.md, "Node
// protocol"; docs/workflow-protocol.md, "Engine ↔ engine").
//
//   secret S      64 hex characters (32 random bytes) the control plane
//                 issues at a node's first registration; only the node keeps
//                 it (<data_dir>/node.credential). It authenticates the node
//                 to the control plane.
//   digest        SHA-256(S), hex: all the control plane stores of S.
//   dataplane key K = HMAC-SHA256(S, "aether dataplane key v1"), hex: the
//                 node computes it; the control plane computes it once, at
//                 issue time, and stores it. Knowing K does not reveal S.
//   pair token    T(A→B) = HMAC-SHA256(K_A, "aether dataplane v1\n" + B), hex:
//                 what node A sends to node B on the dataplane. B only ever
//                 learns T(A→B), which is good for nothing but sending to B
//                 as A; B checks it against SHA-256(T(A→B)), which the
//                 control plane hands it.
//   portal token  P(W, C) = HMAC-SHA256(HMAC-SHA256(A, "aether portal key
//                 v1"), "aether portal v1\n" + W + "\n" + C), hex, A the
//                 cluster controller's admin token: what a domain's portal
//                 sends to the portal ingress of component C of workflow W in
//                 another domain (docs/domains.md), which holds only
//                 SHA-256(P). Stable while A is, so every controller replica
//                 with the same admin token hands out the same one.
//
// Both the control plane and the engine use these, so they live here.
// Pure functions: any thread may call them.
#pragma once

#include <string>
#include <string_view>

namespace aether {

std::string CredentialDigest(std::string_view secret);
std::string DataplaneKey(std::string_view secret);
std::string PairToken(std::string_view dataplane_key, std::string_view receiver_node_id);
std::string PortalToken(std::string_view controller_secret, std::string_view workflow,
                        std::string_view component);

// Whether SHA-256(`given`) equals `expected_digest` (64 hex characters). The
// comparison is of two 32-byte digests with CRYPTO_memcmp, so its time does
// not depend on where they differ nor on the length of `given`. False for an
// empty `given` or a malformed `expected_digest`.
bool MatchesDigest(std::string_view given, std::string_view expected_digest);

}  // namespace aether
