#include "control/etcd_store.h"

#include <atomic>
#include <boost/url/parse.hpp>
#include <condition_variable>
#include <mutex>

#include "common/http_client.h"
#include "common/log.h"
#include "common/tls_client.h"
#include "control/etcd/etcd_codec.h"
#include "control/etcd/revision_watch.h"
#include "control/internal/txn_check.h"

namespace aether::control {
namespace {

Status CheckOptions(const EtcdStoreOptions& o) {
  if (o.endpoints.empty()) return InvalidArgument("[store] endpoints: at least one etcd URL");
  const bool https = o.endpoints.front().starts_with("https://");
  for (const std::string& e : o.endpoints) {
    auto url = boost::urls::parse_uri(e);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty() ||
        !url->has_port() || (!url->path().empty() && url->path() != "/")) {
      return InvalidArgument("[store] endpoints: " + e + " is not http(s)://host:port");
    }
    if ((url->scheme() == "https") != https) {
      return InvalidArgument("[store] endpoints: all https:// or all http://, not both");
    }
  }
  if (!https && !(o.ca_file.empty() && o.cert_file.empty() && o.key_file.empty())) {
    return InvalidArgument(
        "[store] ca_file, cert_file and key_file are for https:// endpoints; these are http://");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return InvalidArgument("[store] cert_file and key_file go together");
  }
  if (o.prefix.empty()) return InvalidArgument("[store] prefix must not be empty");
  if (o.username.empty() != o.password.empty()) {
    return InvalidArgument("[store] username and password go together");
  }
  return OkStatus();
}

// The largest answer (or watch message) taken from etcd: a List of the
// whole store, with room; anything larger is refused, not buffered.
constexpr uint64_t kMaxAnswerBytes = 256ull << 20;

class EtcdStore final : public Store {
 public:
  explicit EtcdStore(EtcdStoreOptions options)
      : options_(std::move(options)),
        http_(NewHttpClient({.max_idle_per_host = 8,
                             .max_response_bytes = kMaxAnswerBytes,
                             .ca_file = options_.ca_file,
                             .cert_file = options_.cert_file,
                             .key_file = options_.key_file})) {
    for (std::string& e : options_.endpoints) {
      if (e.ends_with('/')) e.pop_back();
    }
  }
  ~EtcdStore() override {
    if (watch_) watch_->Stop();
  }

  Status Start() {
    if (!options_.username.empty()) RETURN_IF_ERROR(Authenticate());
    ASSIGN_OR_RETURN(int64_t rev, Revision());
    Publish(rev);
    watch_ = std::make_unique<etcd::RevisionWatch>(etcd::RevisionWatchOptions{
        .endpoints = options_.endpoints,
        .prefix = options_.prefix,
        .start_revision = rev,
        .revision = [this] { return Revision(); },
        .token = [this] { return Token(); },
        .publish = [this](int64_t r) { Publish(r); },
        .max_message_bytes = kMaxAnswerBytes,
        .tls = {.ca_file = options_.ca_file,
                .cert_file = options_.cert_file,
                .key_file = options_.key_file},
    });
    return OkStatus();
  }

  Result<TxnResult> Txn(const TxnRequest& txn) override {
    RETURN_IF_ERROR(internal::CheckTxn(txn));
    ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/txn", etcd::EncodeTxn(options_.prefix, txn)));
    ASSIGN_OR_RETURN(TxnResult result, etcd::DecodeTxn(options_.prefix, txn, body));
    Publish(result.revision);
    return result;
  }

  Result<int64_t> Revision() override {
    ASSIGN_OR_RETURN(std::string body,
                     Post("/v3/kv/range", etcd::EncodeRevisionRequest(options_.prefix)));
    return etcd::DecodeHeaderRevision(body);
  }

  Result<int64_t> WaitForRevision(int64_t after, std::chrono::milliseconds timeout) override {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, timeout, [&] { return revision_ > after; })) return revision_;
    }
    // Timed out: ask etcd, in case the watch is down and missed a write.
    ASSIGN_OR_RETURN(int64_t now, Revision());
    Publish(now);
    return now;
  }

 private:
  void Publish(int64_t revision) {
    {
      std::lock_guard lock(mu_);
      if (revision <= revision_) return;
      revision_ = revision;
    }
    cv_.notify_all();
  }

  std::string Token() {
    std::lock_guard lock(mu_);
    return token_;
  }

  Status Authenticate() {
    {
      std::lock_guard lock(mu_);
      token_.clear();
    }
    ASSIGN_OR_RETURN(std::string body,
                     Send("/v3/auth/authenticate",
                          etcd::EncodeAuthenticate(options_.username, options_.password), false));
    ASSIGN_OR_RETURN(std::string token, etcd::DecodeAuthToken(body));
    std::lock_guard lock(mu_);
    token_ = std::move(token);
    return OkStatus();
  }

  // Send, authenticating again once when etcd says the token expired.
  Result<std::string> Post(const std::string& path, const std::string& body) {
    Result<std::string> r = Send(path, body, true);
    if (r.ok() || r.status().code() != Code::kUnauthenticated || options_.username.empty()) {
      return r;
    }
    RETURN_IF_ERROR(Authenticate());
    return Send(path, body, true);
  }

  // One POST: to the endpoint that answered last, then to the others when
  // a connection cannot be made (nothing was sent). The answer's body, or
  // the error it stands for.
  Result<std::string> Send(const std::string& path, const std::string& body, bool with_token) {
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
        // "cannot connect"/"cannot resolve": nothing was sent, try the next.
        if (r.status().message().starts_with("cannot ")) continue;
        return last;
      }
      current_ = e;
      if (r->status != 200) return etcd::ErrorFromAnswer(r->status, r->body);
      return std::move(r->body);
    }
    return last;
  }

  EtcdStoreOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::atomic<size_t> current_{0};  // the endpoint that answered last
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t revision_ = 0;  // under mu_: the newest revision seen
  std::string token_;     // under mu_
  std::unique_ptr<etcd::RevisionWatch> watch_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenEtcdStore(EtcdStoreOptions options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (options.endpoints.front().starts_with("https://")) {
    // Unreadable TLS files are a configuration error, not an etcd that
    // cannot be reached.
    Result<std::unique_ptr<boost::asio::ssl::context>> tls = NewClientTlsContext(
        {.ca_file = options.ca_file, .cert_file = options.cert_file, .key_file = options.key_file});
    if (!tls.ok()) return InvalidArgument("[store] " + tls.status().message());
  }
  auto store = std::make_unique<EtcdStore>(std::move(options));
  RETURN_IF_ERROR(store->Start());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace aether::control
