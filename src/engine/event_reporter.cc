#include "engine/event_reporter.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "common/log.h"
#include "protocol/event.h"

namespace aether::engine {

namespace json = boost::json;

EventReporter::EventReporter(EventReporterOptions options, Counter& dropped)
    : options_(std::move(options)), dropped_(dropped) {}

EventReporter::~EventReporter() { Stop(); }

void EventReporter::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EventReporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped_.Inc(static_cast<double>(queue_.size()));
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventReporter::Report(std::string_view type, json::object data) {
  std::string body = protocol::EncodeEventPost(type, data);
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) {
      dropped_.Inc();
      return;
    }
    queue_.push_back(std::move(body));
  }
  cv_.notify_one();
}

void EventReporter::ExecutionFailed(std::string_view function, wasm::TrapKind kind) {
  bool timeout = kind == wasm::TrapKind::kTimeout;
  int64_t suppressed = 0;
  {
    std::lock_guard lock(mu_);
    auto now = options_.clock->Now();
    Limit& limit = limits_[{std::string(function), timeout}];
    if (limit.last != Clock::TimePoint{} && now - limit.last < options_.min_interval) {
      ++limit.suppressed;
      return;
    }
    limit.last = now;
    suppressed = std::exchange(limit.suppressed, 0);
  }
  json::object data{{"function", function}, {"suppressed", suppressed}};
  if (!timeout) data["kind"] = wasm::TrapName(kind);
  Report(timeout ? "timeout" : "trap", std::move(data));
}

void EventReporter::Loop() {
  bool failing = false;
  for (;;) {
    std::string body;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      body = std::move(queue_.front());
      queue_.pop_front();
    }
    Status st = options_.send ? options_.send(body) : OkStatus();
    if (!st.ok()) {
      dropped_.Inc();
      if (!failing) LOG_WARN("cannot report events to the control plane: {}", st.message());
    } else if (failing) {
      LOG_INFO("reporting events to the control plane again");
    }
    failing = !st.ok();
  }
}

}  // namespace aether::engine
