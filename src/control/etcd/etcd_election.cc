#include "control/etcd/etcd_election.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "control/etcd/etcd_codec.h"

namespace aether::control::etcd {
namespace {

using Clock = std::chrono::steady_clock;

// How long a follower waits on the store's watch before it looks again
// (and how soon a failed step is tried again): short, so that a Resign
// during the wait is quick.
constexpr std::chrono::milliseconds kPoll{500};

}  // namespace

Election::Election(std::shared_ptr<Client> client, Store& store, ElectionOptions options)
    : client_(std::move(client)), store_(store), options_(std::move(options)) {}

Election::~Election() { Resign(); }

void Election::Start() {
  thread_ = std::thread([this] { Run(); });
}

std::optional<Fence> Election::Term() const {
  std::lock_guard lock(mu_);
  if (!term_ || lost_ || Clock::now() >= lease_until_) return std::nullopt;
  return term_;
}

void Election::Lost(const Fence& term) {
  {
    std::lock_guard lock(mu_);
    if (term_ != term) return;
    lost_ = true;
  }
  cv_.notify_all();
}

void Election::Resign() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    if (term_) LOG_INFO("replica {} resigns the lead", options_.replica_id);
    term_.reset();
    lease = std::exchange(lease_, 0);
  }
  if (lease != 0) Revoke(lease);
}

bool Election::Stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

Status Election::Grant() {
  Clock::time_point sent = Clock::now();  // as in KeepAlive
  ASSIGN_OR_RETURN(std::string body,
                   client_->Post("/v3/lease/grant", EncodeLeaseGrant(options_.lease_ttl.count())));
  ASSIGN_OR_RETURN(Lease lease, DecodeLease(body));
  if (lease.ttl <= 0) return Unavailable("etcd granted a lease without a TTL");
  std::lock_guard lock(mu_);
  lease_ = lease.id;
  lease_until_ = sent + std::chrono::seconds(lease.ttl);
  return OkStatus();
}

Status Election::KeepAlive() {
  int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = lease_;
  }
  // etcd counts the TTL from when it receives this: from `sent`, the lease
  // lives at least that long.
  Clock::time_point sent = Clock::now();
  ASSIGN_OR_RETURN(std::string body, client_->Post("/v3/lease/keepalive", EncodeLeaseId(id)));
  ASSIGN_OR_RETURN(Lease lease, DecodeLease(body));
  if (lease.ttl <= 0) {
    EndTerm("its lease expired");
    return OkStatus();
  }
  std::lock_guard lock(mu_);
  if (lease_ == id) lease_until_ = sent + std::chrono::seconds(lease.ttl);
  return OkStatus();
}

Status Election::Campaign() {
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  std::string key(kElectionKey);
  TxnRequest txn{{Compare::Absent(key)}, {Op::Put(key, options_.replica_id)}};
  ASSIGN_OR_RETURN(std::string body,
                   client_->Post("/v3/kv/txn", EncodeTxn(options_.prefix, txn, lease)));
  ASSIGN_OR_RETURN(TxnResult won, DecodeTxn(options_.prefix, txn, body));
  if (won.succeeded) {
    std::lock_guard lock(mu_);
    if (lease_ != lease) return OkStatus();  // the lease went meanwhile; it took the key
    term_ = Fence{key, won.revision};
    lost_ = false;
    holder_ = options_.replica_id;
    LOG_INFO("replica {} is the leader (election key at revision {})", options_.replica_id,
             won.revision);
    return OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<KeyValue> held, store_.Get(key));
  std::lock_guard lock(mu_);
  std::string holder = held ? held->value : std::string();
  if (holder != holder_) {
    LOG_INFO("replica {} follows; the leader is {}", options_.replica_id,
             holder.empty() ? std::string("(none)") : holder);
  }
  holder_ = std::move(holder);
  return OkStatus();
}

void Election::Advertise(const std::string& record) {
  {
    std::lock_guard lock(mu_);
    record_ = record;
    registered_ = 0;
  }
  cv_.notify_all();
}

Status Election::Register() {
  int64_t lease = 0;
  std::string record;
  {
    std::lock_guard lock(mu_);
    if (record_.empty() || lease_ == 0 || registered_ == lease_) return OkStatus();
    lease = lease_;
    record = record_;
  }
  TxnRequest txn{{}, {Op::Put(std::string(kReplicasPrefix) + options_.replica_id, record)}};
  ASSIGN_OR_RETURN(std::string body,
                   client_->Post("/v3/kv/txn", EncodeTxn(options_.prefix, txn, lease)));
  RETURN_IF_ERROR(DecodeTxn(options_.prefix, txn, body).status());
  std::lock_guard lock(mu_);
  if (lease_ == lease && record_ == record) registered_ = lease;
  return OkStatus();
}

void Election::Revoke(int64_t lease) {
  Result<std::string> r = client_->Post("/v3/lease/revoke", EncodeLeaseId(lease));
  if (!r.ok() && r.status().message().find("not found") == std::string::npos) {
    LOG_WARN("revoking the election lease: {} (it expires by itself)", r.status().message());
  }
}

void Election::EndTerm(const char* why) {
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    if (term_) LOG_WARN("replica {} is no longer the leader: {}", options_.replica_id, why);
    term_.reset();
    lost_ = false;
    lease = std::exchange(lease_, 0);
  }
  // Deletes the key if it is still ours, so that no one waits for the TTL.
  if (lease != 0) Revoke(lease);
}

void Election::Run() {
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 3;
  Clock::time_point next_keepalive{};
  Clock::time_point next_complaint{};
  int64_t seen = 0;
  while (!Stopping()) {
    bool has_lease = false;
    {
      std::lock_guard lock(mu_);
      has_lease = lease_ != 0;
    }
    Status st;
    if (!has_lease) {
      st = Grant();
      next_keepalive = Clock::now() + period;
    } else if (Clock::now() >= next_keepalive) {
      st = KeepAlive();
      next_keepalive = Clock::now() + (st.ok() ? period : kPoll);
    }
    bool leader = false;
    {
      std::unique_lock lock(mu_);
      if (term_ && (lost_ || Clock::now() >= lease_until_)) {
        bool lost = lost_;
        lock.unlock();
        EndTerm(lost ? "another replica holds the election key" : "its lease lapsed");
        continue;
      }
      leader = term_.has_value();
      has_lease = lease_ != 0;
    }
    if (st.ok() && has_lease && !Stopping()) st = Register();
    if (st.ok() && !leader && has_lease && !Stopping()) st = Campaign();
    if (!st.ok() && Clock::now() >= next_complaint) {
      LOG_WARN("leader election: {}", st.message());
      next_complaint = Clock::now() + options_.lease_ttl;
    }
    {
      std::lock_guard lock(mu_);
      leader = term_.has_value();
    }
    auto wait = std::clamp(
        std::chrono::duration_cast<std::chrono::milliseconds>(next_keepalive - Clock::now()),
        std::chrono::milliseconds(0), st.ok() ? period : kPoll);
    if (leader) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, wait, [this] {
        return stopping_ || lost_ || (!record_.empty() && registered_ != lease_);
      });
    } else {
      // The key's deletion is a write under the prefix: the watch wakes this.
      Result<int64_t> r = store_.WaitForRevision(seen, std::min(wait, kPoll));
      if (r.ok()) seen = *r;
    }
  }
}

}  // namespace aether::control::etcd
