// This engine's identity at the control plane: its node id and the
// credential the control plane issued at its first registration — the join
// token's one use (docs/api.md, "Node protocol"). The secret is kept in
// <data_dir>/node.credential (JSON {"node_id", "secret"}, mode 0600,
// written atomically), so a restarted engine is the same node. A file for
// another node id is ignored: the engine joins as a new node and replaces it.
//
// The secret is sent to the control plane only; peers on the dataplane get
// tokens derived from it (common/node_credential.h). It is never logged.
//
// Thread-safety: every method from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether {

// <data_dir>/node.credential
std::string NodeCredentialPath(const std::string& data_dir);

class NodeIdentity {
 public:
  // Reads the saved credential of `node_id`, if any. Errors: Internal when
  // the file exists but cannot be read. A domain orchestrator keeps its
  // domain credential the same way, in <data dir>/domain.credential
  // (`file_name`; the id is stored as "node_id" there too).
  static Result<std::unique_ptr<NodeIdentity>> Open(const std::string& data_dir,
                                                    std::string node_id,
                                                    std::string_view file_name = "node.credential");
  // In memory only (`path` empty: Set() does not write), e.g. for tests or
  // an engine without a control plane.
  explicit NodeIdentity(std::string node_id, std::string path = "", std::string secret = "");

  const std::string& node_id() const { return node_id_; }
  const std::string& path() const { return path_; }
  // Empty until the first registration (or after Forget()).
  std::string secret() const;
  // DataplaneKey(secret()); empty with it.
  std::string dataplane_key() const;
  // Keeps a newly issued secret: in memory at once, then on disk. Internal
  // when the file cannot be written (the secret is used all the same until
  // the engine stops).
  Status Set(std::string secret);
  // Drops the credential from memory (the control plane does not know this
  // node any more): the engine joins again with the join token, and the
  // file is replaced when it does.
  void Forget();
  // Blocks until a secret is set or `timeout` passes; returns it ("" then).
  std::string WaitForSecret(std::chrono::milliseconds timeout) const;

 private:
  const std::string node_id_;
  const std::string path_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string secret_;
  std::string dataplane_key_;
};

}  // namespace aether
