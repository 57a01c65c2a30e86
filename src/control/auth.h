// Tokens: the admin bearer token (every /api/* call), the join token
// (admits new nodes: POST /register; every later node call carries the
// node's own credential, see node_registry.h) and, on a cluster
// controller, the domain join token (admits new domains; see
// domains/domain_registry.h). Each comes from [auth] or, when not
// configured, from <data dir>/admin.token / join.token, generated on first
// start (32 random bytes, hex) with mode 0600 and reused afterwards.
//
// Pure functions and file I/O at startup; any thread may call them.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/http_server.h"
#include "common/result.h"

namespace aether::control {

struct Tokens {
  std::string admin;
  std::string join;
  // The cluster controller's (role cluster): admits new domains
  // (POST /domain/register). Empty in the other roles.
  std::string domain_join;
  // Where each token was read from or generated into ([auth] *_file, a
  // systemd credential, the data dir); empty when it came from the
  // configuration itself. For the startup banner, never for API errors.
  std::string admin_file;
  std::string join_file;
  std::string domain_join_file;
};

// Errors: Unavailable when a token file cannot be created or read, or is
// empty; InvalidArgument when it holds fewer than kMinTokenLength
// characters (configured tokens are checked by ParseConfig).
// `domain_join`: also the domain join token ([auth] domain_join_token or
// <data dir>/domain_join.token), for a cluster controller.
Result<Tokens> LoadOrCreateTokens(const AuthConfig& auth, const std::string& data_dir,
                                  bool domain_join = false);

// 64 hex characters from OpenSSL's CSPRNG.
Result<std::string> GenerateToken();

// Equality in a time that depends on given's length only: not on where the
// strings differ, nor on the expected token's length.
bool TokenEquals(std::string_view given, std::string_view expected);

// The token of `Authorization: Bearer <t>` (a view into `req`).
// Unauthenticated when the header is missing or not a bearer token.
Result<std::string_view> BearerToken(const HttpRequest& req);

// OK when `Authorization: Bearer <t>` carries one of `accepted`.
// Unauthenticated when the header is missing or not a bearer token,
// PermissionDenied when the token is wrong.
Status CheckBearer(const HttpRequest& req, std::initializer_list<const std::string*> accepted);

}  // namespace aether::control
