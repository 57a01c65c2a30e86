// One connection to an etcd cluster over its v3 JSON gateway: the POSTs,
// the endpoints taken in turn, and the authentication token. The store
// (etcd_store.cc) and the election (etcd_election.cc) share one, so a
// replica has one set of kept connections and one token.
//
// Endpoints are tried in turn: a connection that cannot be made moves to
// the next one at once; an answer etcd gave (an error included) is the
// answer. A request is never sent twice: one whose answer was lost fails
// with Unavailable, and the caller decides.
//
// Thread-safety: any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/result.h"
#include "common/tls_client.h"

namespace aether::control::etcd {

struct ClientOptions {
  std::vector<std::string> endpoints;  // http(s)://host:port, checked by the caller
  std::string username{};              // both set: etcd's authentication
  std::string password{};
  std::chrono::milliseconds request_timeout{5000};
  uint64_t max_answer_bytes = 256ull << 20;
  ClientTlsOptions tls{};  // https:// endpoints
};

class Client {
 public:
  explicit Client(ClientOptions options);

  // POST `body` to `path` (/v3/...): the answer's body, or the error it
  // stands for (etcd_codec.h's ErrorFromAnswer). Authenticates again once
  // when etcd says the token expired.
  Result<std::string> Post(const std::string& path, const std::string& body);
  // Gets a token when a user is configured (at start).
  Status Authenticate();
  // The token to send as Authorization ("" without authentication).
  std::string Token();
  const std::vector<std::string>& endpoints() const { return options_.endpoints; }
  const ClientTlsOptions& tls() const { return options_.tls; }

 private:
  Result<std::string> Send(const std::string& path, const std::string& body, bool with_token);

  ClientOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::atomic<size_t> current_{0};  // the endpoint that answered last
  std::mutex mu_;
  std::string token_;  // under mu_
};

}  // namespace aether::control::etcd
