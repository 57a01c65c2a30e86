#include "control/etcd_store.h"

#include <atomic>
#include <boost/url/parse.hpp>
#include <condition_variable>
#include <mutex>

#include "common/tls_client.h"
#include "control/etcd/etcd_client.h"
#include "control/etcd/etcd_codec.h"
#include "control/etcd/etcd_election.h"
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

Status CheckElectionOptions(const EtcdElectionOptions& e) {
  if (!IsReplicaId(e.replica_id)) {
    return InvalidArgument("[cluster] replica_id \"" + e.replica_id.substr(0, 80) +
                           "\" is not a replica id");
  }
  if (e.lease_ttl < kMinLeaseTtl || e.lease_ttl > kMaxLeaseTtl) {
    return InvalidArgument("[cluster] lease_ttl must be from 2s to 5m");
  }
  return OkStatus();
}

// The largest answer (or watch message) taken from etcd: a List of the
// whole store, with room; anything larger is refused, not buffered.
constexpr uint64_t kMaxAnswerBytes = 256ull << 20;

class EtcdStore final : public Store {
 public:
  EtcdStore(std::shared_ptr<etcd::Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}
  ~EtcdStore() override {
    if (watch_) watch_->Stop();
  }

  Status Start() {
    RETURN_IF_ERROR(client_->Authenticate());
    ASSIGN_OR_RETURN(int64_t rev, Revision());
    Publish(rev);
    watch_ = std::make_unique<etcd::RevisionWatch>(etcd::RevisionWatchOptions{
        .endpoints = client_->endpoints(),
        .prefix = prefix_,
        .start_revision = rev,
        .revision = [this] { return Revision(); },
        .token = [this] { return client_->Token(); },
        .publish = [this](int64_t r) { Publish(r); },
        .max_message_bytes = kMaxAnswerBytes,
        .tls = client_->tls(),
    });
    return OkStatus();
  }

  Result<TxnResult> Txn(const TxnRequest& txn) override {
    RETURN_IF_ERROR(internal::CheckTxn(txn));
    ASSIGN_OR_RETURN(std::string body, client_->Post("/v3/kv/txn", etcd::EncodeTxn(prefix_, txn)));
    ASSIGN_OR_RETURN(TxnResult result, etcd::DecodeTxn(prefix_, txn, body));
    Publish(result.revision);
    return result;
  }

  Result<int64_t> Revision() override {
    ASSIGN_OR_RETURN(std::string body,
                     client_->Post("/v3/kv/range", etcd::EncodeRevisionRequest(prefix_)));
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

  std::optional<int64_t> KnownRevision() override {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() - confirmed_ > kKnownRevisionFor) return std::nullopt;
    return revision_;
  }

 private:
  // `revision` is current now: an answer of etcd's, or a watch event.
  void Publish(int64_t revision) {
    {
      std::lock_guard lock(mu_);
      confirmed_ = std::chrono::steady_clock::now();
      if (revision <= revision_) return;
      revision_ = revision;
    }
    cv_.notify_all();
  }

  std::shared_ptr<etcd::Client> client_;
  const std::string prefix_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t revision_ = 0;                               // under mu_: the newest revision seen
  std::chrono::steady_clock::time_point confirmed_{};  // under mu_: when it was last current
  std::unique_ptr<etcd::RevisionWatch> watch_;
};

Result<std::pair<std::shared_ptr<etcd::Client>, std::unique_ptr<Store>>> Open(
    const EtcdStoreOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  ClientTlsOptions tls{
      .ca_file = options.ca_file, .cert_file = options.cert_file, .key_file = options.key_file};
  if (options.endpoints.front().starts_with("https://")) {
    // Unreadable TLS files are a configuration error, not an etcd that
    // cannot be reached.
    Result<std::unique_ptr<boost::asio::ssl::context>> ctx = NewClientTlsContext(tls);
    if (!ctx.ok()) return InvalidArgument("[store] " + ctx.status().message());
  }
  auto client = std::make_shared<etcd::Client>(etcd::ClientOptions{
      .endpoints = options.endpoints,
      .username = options.username,
      .password = options.password,
      .request_timeout = options.request_timeout,
      .max_answer_bytes = kMaxAnswerBytes,
      .tls = std::move(tls),
  });
  auto store = std::make_unique<EtcdStore>(client, options.prefix);
  RETURN_IF_ERROR(store->Start());
  return std::make_pair(std::move(client), std::unique_ptr<Store>(std::move(store)));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdStoreOptions& options) {
  ASSIGN_OR_RETURN(auto opened, Open(options));
  return std::move(opened.second);
}

Result<EtcdControlPlane> OpenEtcdControlPlane(const EtcdStoreOptions& options,
                                              EtcdElectionOptions election) {
  if (Status st = CheckElectionOptions(election); !st.ok()) return st;
  std::string prefix = options.prefix;
  ASSIGN_OR_RETURN(auto opened, Open(options));
  EtcdControlPlane out;
  out.store = std::move(opened.second);
  auto e = std::make_unique<etcd::Election>(
      std::move(opened.first), *out.store,
      etcd::ElectionOptions{std::move(election.replica_id), election.lease_ttl, prefix});
  e->Start();
  out.leadership = std::move(e);
  return out;
}

}  // namespace aether::control
