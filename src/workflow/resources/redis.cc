#include "workflow/resources/redis.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>

#include "common/json_util.h"
#include "common/log.h"
#include "common/work_queue.h"
#include "workflow/resources/call_slot.h"

namespace aether::workflow::resources {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// EDGELESS's add-workflow-id: "<workflow id>:<key>".
RedisConfig WithWorkflowKey(RedisConfig c, const std::string& workflow) {
  if (c.add_workflow_id && !c.key.empty()) c.key = workflow + ":" + c.key;
  return c;
}

class Redis final : public Resource {
 public:
  Redis(ResourceContext ctx, RedisConfig config)
      : ctx_(std::move(ctx)),
        config_(WithWorkflowKey(std::move(config), ctx_.workflow)),
        where_(config_.host + ":" + std::to_string(config_.port)),
        prefix_(config_.add_workflow_id ? ctx_.workflow + ":" : ""),
        queue_(WorkQueueOptions{"redis: the queue to " + where_, 1, ctx_.limits.redis_queue_length,
                                kRedisQueueBytes}) {}
  ~Redis() override { Stop(); }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    return queue_.Post(
        [this, p = std::string(payload)] {
          Result<std::string> r = Write(p);
          if (!r.ok()) ctx_.report_failure(r.status().message());
        },
        payload.size(), wait_until);
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds timeout) override {
    if (config_.call_get && payload.size() > kMaxRedisKeyBytes) {
      return InvalidArgument("redis: a GET call's payload is the key: at most " +
                             std::to_string(kMaxRedisKeyBytes) + " bytes, got " +
                             std::to_string(payload.size()));
    }
    return CallOnQueue(
        queue_,
        [this, p = std::string(payload)] {
          return config_.call_get ? Command("GET", prefix_ + p, {}) : Write(p);
        },
        payload.size(), timeout, "redis", "redis: no answer from " + where_);
  }

  void Stop() override {
    size_t dropped = queue_.Stop();
    if (dropped > 0) {
      LOG_WARN("{}: {} queued redis command(s) dropped at stop", ctx_.instance_id, dropped);
    }
    conn_.reset();  // the worker thread is gone: nobody else touches it
  }

 private:
  // Worker thread only, from here on.
  Result<std::string> Write(const std::string& payload) {
    if (config_.key.empty()) {
      return FailedPrecondition(
          "redis: a cast writes to the configured \"key\", and this resource has none (it "
          "only answers GET calls)");
    }
    return Command(config_.rpush ? "RPUSH" : "SET", config_.key, payload);
  }

  // `value` nullopt: a command of the key alone (GET).
  Result<std::string> Command(const char* verb, const std::string& key,
                              std::optional<std::string_view> value) {
    for (int attempt = 0;; ++attempt) {
      bool fresh = conn_ == nullptr;
      RETURN_IF_ERROR(Connect());
      void* raw = value ? redisCommand(conn_.get(), "%s %b %b", verb, key.data(), key.size(),
                                       value->data(), value->size())
                        : redisCommand(conn_.get(), "%s %b", verb, key.data(), key.size());
      if (raw == nullptr) {
        std::string err = conn_->errstr;
        conn_.reset();
        // A kept connection that the server closed (a restart, an idle
        // timeout): one more try on a new one.
        if (!fresh && attempt == 0) continue;
        return Unavailable("redis: " + std::string(verb) + " on " + where_ + " failed: " + err);
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      switch (reply->type) {
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_STRING:
          return std::string(reply->str, reply->len);
        case REDIS_REPLY_NIL:
          // EDGELESS answers Err for a missing key too.
          return NotFound("redis: no key \"" + JsonEscape(key.substr(0, 64)) +
                          (key.size() > 64 ? "...\"" : "\"") + " on " + where_);
        case REDIS_REPLY_INTEGER:
          return std::to_string(reply->integer);
        case REDIS_REPLY_ERROR:
          return Internal("redis: " + std::string(verb) + " on " + where_ + ": " +
                          std::string(reply->str, reply->len));
        default:
          return Internal("redis: unexpected reply type " + std::to_string(reply->type) + " to " +
                          verb);
      }
    }
  }

  Status Connect() {
    if (conn_ != nullptr) return OkStatus();
    Clock::TimePoint now = ctx_.clock->Now();
    if (now < next_attempt_) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
      return Unavailable("redis: cannot connect to " + where_ + ": " + last_error_ +
                         " (next attempt in " + std::to_string(wait.count()) + " ms)");
    }
    ContextPtr c(redisConnectWithTimeout(config_.host.c_str(), config_.port,
                                         ToTimeval(ctx_.limits.redis_connect_timeout)));
    if (c == nullptr || c->err != 0) {
      last_error_ = c == nullptr ? "out of memory" : c->errstr;
      next_attempt_ = ctx_.clock->Now() + backoff_;
      backoff_ = std::min(backoff_ * 2, kRedisMaxBackoff);
      return Unavailable("redis: cannot connect to " + where_ + ": " + last_error_);
    }
    if (redisSetTimeout(c.get(), ToTimeval(ctx_.limits.redis_command_timeout)) != REDIS_OK) {
      return Unavailable("redis: cannot set the timeout on " + where_ + ": " + c->errstr);
    }
    (void)redisEnableKeepAlive(c.get());
    backoff_ = kRedisMinBackoff;
    next_attempt_ = {};
    conn_ = std::move(c);
    return OkStatus();
  }

  ResourceContext ctx_;
  const RedisConfig config_;
  const std::string where_;
  // add-workflow-id: "<workflow id>:" before a GET call's key too.
  const std::string prefix_;
  // Worker thread only (and Stop, once the thread is gone).
  ContextPtr conn_;
  std::string last_error_;
  Clock::TimePoint next_attempt_{};  // on ctx_.clock
  std::chrono::milliseconds backoff_ = kRedisMinBackoff;
  WorkQueue queue_;  // last: its thread uses the members above
};

}  // namespace

std::unique_ptr<Resource> NewRedis(ResourceContext ctx, RedisConfig config) {
  return std::make_unique<Redis>(std::move(ctx), std::move(config));
}

}  // namespace aether::workflow::resources
