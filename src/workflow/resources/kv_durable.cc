// storage = "durable" of the kv resource (kv.h): the commands on a NATS
// JetStream Key-Value bucket (workflow/jetstream_kv.h), on the resource's
// own thread, as redis.cc runs its commands.
#include <optional>
#include <utility>

#include "common/log.h"
#include "common/work_queue.h"
#include "workflow/jetstream_kv.h"
#include "workflow/resources/call_slot.h"
#include "workflow/resources/kv.h"
#include "workflow/resources/kv_command.h"

namespace aether::workflow::resources {
namespace {

// Bytes of queued payloads at most (the queue's second bound).
constexpr uint64_t kKvQueueBytes = 32ull << 20;
// INCR's compare-and-set attempts before it gives up: only a key that
// other writers change without pause gets there.
constexpr int kIncrAttempts = 64;

class DurableKv final : public Resource {
 public:
  DurableKv(ResourceContext ctx, KvConfig config)
      : ctx_(std::move(ctx)),
        config_(config),
        queue_(WorkQueueOptions{"kv: the queue of " + ctx_.instance_id, 1,
                                ctx_.limits.kv_queue_length, kKvQueueBytes}) {}
  ~DurableKv() override { Stop(); }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    // A command that cannot run fails now, not on the queue.
    RETURN_IF_ERROR(ParseKvCommand(payload, /*is_call=*/false).status());
    return queue_.Post(
        [this, p = std::string(payload)] {
          Result<std::string> r = Run(p, /*is_call=*/false);
          if (!r.ok()) ctx_.report_failure(r.status().message());
        },
        payload.size(), wait_until);
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds timeout) override {
    RETURN_IF_ERROR(ParseKvCommand(payload, /*is_call=*/true).status());
    return CallOnQueue(
        queue_, [this, p = std::string(payload)] { return Run(p, /*is_call=*/true); },
        payload.size(), timeout, "kv", "kv: no answer from NATS");
  }

  void Stop() override {
    size_t dropped = queue_.Stop();
    if (dropped > 0) {
      LOG_WARN("{}: {} queued kv command(s) dropped at stop", ctx_.instance_id, dropped);
    }
    bucket_.reset();  // the worker thread is gone: nobody else touches it
  }

 private:
  // Worker thread only, from here on.
  Result<std::string> Run(std::string_view payload, bool is_call) {
    ASSIGN_OR_RETURN(KvCommand c, ParseKvCommand(payload, is_call));
    ASSIGN_OR_RETURN(KvBucket * b, Bucket());
    switch (c.op) {
      case KvCommand::Op::kGet: {
        ASSIGN_OR_RETURN(std::optional<KvItem> item, b->Get(c.key));
        if (!item) return NotFound("kv: no key \"" + std::string(c.key) + "\"");
        return std::move(item->value);
      }
      case KvCommand::Op::kSet: {
        RETURN_IF_ERROR(CheckKvValueSize(c.value.size(), config_.max_value_bytes));
        ASSIGN_OR_RETURN(std::optional<KvItem> item, b->Get(c.key));
        if (!item) RETURN_IF_ERROR(CheckRoom(*b));
        RETURN_IF_ERROR(b->Put(c.key, c.value).status());
        return std::string("OK");
      }
      case KvCommand::Op::kDel: {
        ASSIGN_OR_RETURN(std::optional<KvItem> item, b->Get(c.key));
        if (!item) return std::string("0");
        RETURN_IF_ERROR(b->Delete(c.key, item->revision));
        return std::string("1");
      }
      case KvCommand::Op::kIncr:
        return Incr(*b, c.key, c.by);
      case KvCommand::Op::kKeys: {
        ASSIGN_OR_RETURN(std::vector<std::string> keys, b->Keys());
        return KvKeysReply(std::move(keys), c.key);
      }
    }
    return Internal("kv: unhandled command");
  }

  Result<std::string> Incr(KvBucket& b, std::string_view key, int64_t by) {
    for (int attempt = 0; attempt < kIncrAttempts; ++attempt) {
      ASSIGN_OR_RETURN(std::optional<KvItem> item, b.Get(key));
      std::optional<std::string> current;
      if (item) {
        current = std::move(item->value);
      } else {
        RETURN_IF_ERROR(CheckRoom(b));
      }
      ASSIGN_OR_RETURN(std::string text, KvIncremented(key, current, by, config_.max_value_bytes));
      Result<uint64_t> r = b.Update(key, text, item ? item->revision : 0);
      if (r.ok()) return text;
      // Another writer got there first: read its value and add to that.
      if (r.status().code() != Code::kFailedPrecondition) return r.status();
    }
    return Unavailable("kv: INCR of \"" + std::string(key) + "\" lost to other writers " +
                       std::to_string(kIncrAttempts) + " times in a row; try again");
  }

  Status CheckRoom(KvBucket& b) const {
    ASSIGN_OR_RETURN(uint64_t n, b.Count());
    return n >= config_.max_keys ? KvFull(config_.max_keys) : OkStatus();
  }

  Result<KvBucket*> Bucket() {
    if (bucket_ == nullptr) {
      ASSIGN_OR_RETURN(bucket_, ctx_.kv_buckets->Open(WorkflowRef(ctx_.workflow, ctx_.incarnation),
                                                      ctx_.component, config_.max_value_bytes));
    }
    return bucket_.get();
  }

  ResourceContext ctx_;
  const KvConfig config_;
  std::unique_ptr<KvBucket> bucket_;  // worker thread only (and Stop, once it is gone)
  WorkQueue queue_;                   // last: its thread uses the members above
};

}  // namespace

std::unique_ptr<Resource> NewDurableKv(ResourceContext ctx, KvConfig config) {
  return std::make_unique<DurableKv>(std::move(ctx), config);
}

}  // namespace aether::workflow::resources
