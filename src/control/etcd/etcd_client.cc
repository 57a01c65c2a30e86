#include "control/etcd/etcd_client.h"

#include "control/etcd/etcd_codec.h"

namespace aether::control::etcd {

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      http_(NewHttpClient({.max_idle_per_host = 8,
                           .max_response_bytes = options_.max_answer_bytes,
                           .ca_file = options_.tls.ca_file,
                           .cert_file = options_.tls.cert_file,
                           .key_file = options_.tls.key_file})) {
  for (std::string& e : options_.endpoints) {
    if (e.ends_with('/')) e.pop_back();
  }
}

std::string Client::Token() {
  std::lock_guard lock(mu_);
  return token_;
}

Status Client::Authenticate() {
  if (options_.username.empty()) return OkStatus();
  {
    std::lock_guard lock(mu_);
    token_.clear();
  }
  ASSIGN_OR_RETURN(std::string body,
                   Send("/v3/auth/authenticate",
                        EncodeAuthenticate(options_.username, options_.password), false));
  ASSIGN_OR_RETURN(std::string token, DecodeAuthToken(body));
  std::lock_guard lock(mu_);
  token_ = std::move(token);
  return OkStatus();
}

Result<std::string> Client::Post(const std::string& path, const std::string& body) {
  Result<std::string> r = Send(path, body, true);
  if (r.ok() || r.status().code() != Code::kUnauthenticated || options_.username.empty()) {
    return r;
  }
  RETURN_IF_ERROR(Authenticate());
  return Send(path, body, true);
}

// One POST: to the endpoint that answered last, then to the others when a
// connection cannot be made (nothing was sent).
Result<std::string> Client::Send(const std::string& path, const std::string& body,
                                 bool with_token) {
  HttpHeaders headers = {{"Content-Type", "application/json"}};
  if (std::string token = with_token ? Token() : ""; !token.empty()) {
    headers.emplace_back("Authorization", token);
  }
  size_t first = current_.load();
  Status last;
  for (size_t i = 0; i < options_.endpoints.size(); ++i) {
    size_t e = (first + i) % options_.endpoints.size();
    Result<HttpResponse> r = http_->Send({.method = "POST",
                                          .url = options_.endpoints[e] + path,
                                          .body = body,
                                          .headers = headers,
                                          .timeout = options_.request_timeout});
    if (!r.ok()) {
      last = Unavailable("etcd at " + options_.endpoints[e] + ": " + r.status().message());
      if (NothingWasSent(r.status())) continue;  // try the next
      return last;
    }
    current_ = e;
    if (r->status != 200) return ErrorFromAnswer(r->status, r->body);
    return std::move(r->body);
  }
  return last;
}

}  // namespace aether::control::etcd
