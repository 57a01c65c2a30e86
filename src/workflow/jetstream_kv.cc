#include "workflow/jetstream_kv.h"

#include <nats/nats.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include "common/clock.h"
#include "common/log.h"
#include "workflow/internal/nats_connection.h"
#include "workflow/jetstream_names.h"

namespace aether::workflow {
namespace {

using internal::NatsConnection;

constexpr std::chrono::milliseconds kConnectMinBackoff{100};
constexpr std::chrono::milliseconds kConnectMaxBackoff{5000};

bool IsPlainKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '/';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The shared checks, their messages marked as the kv's.
Status AsKv(const Status& s) { return s.ok() ? s : InvalidArgument("kv: " + s.message()); }

class NatsBucket final : public KvBucket {
 public:
  NatsBucket(std::shared_ptr<NatsConnection> conn, kvStore* kv, std::string bucket)
      : conn_(std::move(conn)), kv_(kv), bucket_(std::move(bucket)) {}
  ~NatsBucket() override { kvStore_Destroy(kv_); }

  Result<std::optional<KvItem>> Get(std::string_view key) override {
    RETURN_IF_ERROR(CheckLink());
    kvEntry* e = nullptr;
    natsStatus s = kvStore_Get(&e, kv_, EncodeKvKey(key).c_str());
    if (s == NATS_NOT_FOUND) return std::optional<KvItem>();
    if (s != NATS_OK) return conn_->Error("kv: get from bucket " + bucket_, s);
    KvItem item;
    auto* data = static_cast<const char*>(kvEntry_Value(e));
    if (data != nullptr) item.value.assign(data, static_cast<size_t>(kvEntry_ValueLen(e)));
    item.revision = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return std::optional<KvItem>(std::move(item));
  }

  Result<uint64_t> Put(std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(CheckLink());
    uint64_t rev = 0;
    natsStatus s = kvStore_Put(&rev, kv_, EncodeKvKey(key).c_str(), value.data(),
                               static_cast<int>(value.size()));
    if (s != NATS_OK) return WriteError(s);
    return rev;
  }

  Result<uint64_t> Update(std::string_view key, std::string_view value,
                          uint64_t revision) override {
    RETURN_IF_ERROR(CheckLink());
    uint64_t rev = 0;
    std::string k = EncodeKvKey(key);
    auto len = static_cast<int>(value.size());
    // Create also takes a key whose last entry is a delete marker (left
    // by another client's delete), which Update(0) would not.
    natsStatus s = revision == 0
                       ? kvStore_Create(&rev, kv_, k.c_str(), value.data(), len)
                       : kvStore_Update(&rev, kv_, k.c_str(), value.data(), len, revision);
    if (s != NATS_OK) return WriteError(s);
    return rev;
  }

  Status Delete(std::string_view key, uint64_t revision) override {
    RETURN_IF_ERROR(CheckLink());
    std::string subject = "$KV." + bucket_ + "." + EncodeKvKey(key);
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Purge.Subject = subject.c_str();
    o.Stream.Purge.Sequence = revision + 1;  // up to, not including
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_PurgeStream(conn_->js(), ("KV_" + bucket_).c_str(), &o, &jerr);
    if (s != NATS_OK) return conn_->Error("kv: delete from bucket " + bucket_, s, jerr);
    return OkStatus();
  }

  Result<uint64_t> Count() override {
    RETURN_IF_ERROR(CheckLink());
    kvStatus* st = nullptr;
    natsStatus s = kvStore_Status(&st, kv_);
    if (s != NATS_OK) return conn_->Error("kv: status of bucket " + bucket_, s);
    uint64_t n = kvStatus_Values(st);
    kvStatus_Destroy(st);
    return n;
  }

  Result<std::vector<std::string>> Keys() override {
    RETURN_IF_ERROR(CheckLink());
    kvKeysList list{};
    kvWatchOptions o;
    kvWatchOptions_Init(&o);
    o.Timeout = conn_->options().connect_timeout.count();
    natsStatus s = kvStore_Keys(&list, kv_, &o);
    std::vector<std::string> out;
    if (s == NATS_NOT_FOUND) return out;  // an empty bucket
    if (s != NATS_OK) return conn_->Error("kv: keys of bucket " + bucket_, s);
    out.reserve(static_cast<size_t>(list.Count));
    for (int i = 0; i < list.Count; ++i) {
      if (std::optional<std::string> k = DecodeKvKey(list.Keys[i])) out.push_back(std::move(*k));
    }
    kvKeysList_Destroy(&list);
    return out;
  }

 private:
  // While libnats reconnects, a request would wait for its timeout: fail
  // at once instead, so a caller is not held for nothing.
  Status CheckLink() const {
    if (conn_->Connected()) return OkStatus();
    return Unavailable("kv: NATS is not connected (reconnecting); bucket " + bucket_ +
                       " cannot be reached");
  }

  Status WriteError(natsStatus s) const {
    Status st = conn_->Error("kv: write to bucket " + bucket_, s);
    // JetStream's answer to a compare-and-set that lost.
    if (st.message().find("wrong last sequence") != std::string::npos) {
      return FailedPrecondition("kv: the key changed meanwhile");
    }
    return st;
  }

  const std::shared_ptr<NatsConnection> conn_;
  kvStore* const kv_;
  const std::string bucket_;
};

class NatsBuckets final : public KvBuckets {
 public:
  explicit NatsBuckets(JetStreamOptions options) : options_(std::move(options)) {}

  Result<std::unique_ptr<KvBucket>> Open(WorkflowRef workflow, std::string_view component,
                                         uint64_t max_value_bytes) override {
    ASSIGN_OR_RETURN(std::string name, KvBucketName(options_.prefix, workflow, component));
    ASSIGN_OR_RETURN(std::shared_ptr<NatsConnection> conn, Connection());
    if (!conn->Connected()) {
      return Unavailable("kv: NATS is not connected (reconnecting); cannot open bucket " + name);
    }
    kvStore* kv = nullptr;
    natsStatus s = js_KeyValue(&kv, conn->js(), name.c_str());
    if (s == NATS_NOT_FOUND) {
      kvConfig c;
      kvConfig_Init(&c);
      c.Bucket = name.c_str();
      c.History = 1;
      c.MaxValueSize = static_cast<int32_t>(max_value_bytes);
      c.MaxBytes = static_cast<int64_t>(options_.max_bytes);
      c.StorageType = js_FileStorage;
      c.Replicas = options_.replicas;
      s = js_CreateKeyValue(&kv, conn->js(), &c);
      // Another engine created it first.
      if (s != NATS_OK) s = js_KeyValue(&kv, conn->js(), name.c_str());
    }
    if (s != NATS_OK) return conn->Error("kv: cannot open bucket " + name, s);
    auto bucket = std::make_unique<NatsBucket>(conn, kv, name);
    FollowMaxValueBytes(*conn, name, max_value_bytes);
    return std::unique_ptr<KvBucket>(std::move(bucket));
  }

 private:
  Result<std::shared_ptr<NatsConnection>> Connection() {
    std::lock_guard lock(mu_);
    if (conn_ != nullptr) return conn_;
    Clock::TimePoint now = Clock::Real().Now();
    if (now < next_attempt_) {
      return Unavailable(
          "kv: " + last_error_ + " (next attempt in " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count()) +
          " ms)");
    }
    Result<std::shared_ptr<NatsConnection>> c = NatsConnection::Open(options_);
    if (!c.ok()) {
      last_error_ = c.status().message();
      next_attempt_ = Clock::Real().Now() + backoff_;
      backoff_ = std::min(backoff_ * 2, kConnectMaxBackoff);
      return Status(c.status().code(), "kv: " + last_error_);
    }
    conn_ = std::move(*c);
    return conn_;
  }

  // A bucket made with a smaller max_value_bytes would refuse values the
  // resource now allows: its limit follows the configuration.
  static void FollowMaxValueBytes(const NatsConnection& conn, const std::string& bucket,
                                  uint64_t max_value_bytes) {
    std::string stream = "KV_" + bucket;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_GetStreamInfo(&si, conn.js(), stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK && si->Config->MaxMsgSize != static_cast<int32_t>(max_value_bytes)) {
      si->Config->MaxMsgSize = static_cast<int32_t>(max_value_bytes);
      jsStreamInfo* updated = nullptr;
      s = js_UpdateStream(&updated, conn.js(), si->Config, nullptr, &jerr);
      jsStreamInfo_Destroy(updated);
    }
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
      LOG_WARN("{}",
               conn.Error("kv: cannot set the value limit of bucket " + bucket, s, jerr).message());
    }
  }

  const JetStreamOptions options_;
  std::mutex mu_;
  std::shared_ptr<NatsConnection> conn_;
  std::string last_error_;
  Clock::TimePoint next_attempt_{};
  std::chrono::milliseconds backoff_ = kConnectMinBackoff;
};

}  // namespace

std::shared_ptr<KvBuckets> KvBuckets::Create(JetStreamOptions options) {
  return std::make_shared<NatsBuckets>(std::move(options));
}

Result<std::string> KvBucketName(std::string_view prefix, WorkflowRef workflow,
                                 std::string_view component) {
  RETURN_IF_ERROR(AsKv(internal::CheckWorkflow(workflow)));
  RETURN_IF_ERROR(AsKv(internal::CheckName("component", component)));
  return KvBucketNameOf(prefix, workflow, component);
}

std::string EncodeKvKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (IsPlainKeyChar(c)) {
      out.push_back(c);
      continue;
    }
    auto u = static_cast<unsigned char>(c);
    out.push_back('=');
    out.push_back(kHex[u >> 4]);
    out.push_back(kHex[u & 0xf]);
  }
  return out;
}

std::optional<std::string> DecodeKvKey(std::string_view stored) {
  std::string out;
  out.reserve(stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    char c = stored[i];
    if (IsPlainKeyChar(c)) {
      out.push_back(c);
      continue;
    }
    if (c != '=' || i + 2 >= stored.size()) return std::nullopt;
    int hi = HexValue(stored[i + 1]);
    int lo = HexValue(stored[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return out;
}

}  // namespace aether::workflow
