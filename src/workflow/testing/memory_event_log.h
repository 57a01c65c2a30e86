// Tests: an EventLog in memory with the contract's semantics (dedup of
// ids, one subscriber per event, redelivery of unsettled events after the
// ack wait, Nak delays, Term) and knobs a test needs: take the log down,
// lose acknowledgements, look at what is stored.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "workflow/event_log.h"

namespace aether::workflow::testing {

class MemoryEventLog : public EventLog {
 public:
  using SteadyClock = std::chrono::steady_clock;

  explicit MemoryEventLog(std::chrono::milliseconds ack_wait = std::chrono::seconds(30))
      : state_(std::make_shared<State>()) {
    state_->ack_wait = ack_wait;
  }

  Status EnsureWorkflow(WorkflowRef workflow) override {
    std::lock_guard lock(state_->mu);
    if (state_->down) return Unavailable("the log is down");
    state_->streams[Key(workflow)];
    return OkStatus();
  }
  Status DropWorkflow(WorkflowRef workflow) override {
    std::lock_guard lock(state_->mu);
    state_->streams.erase(Key(workflow));
    return OkStatus();
  }
  Status Append(WorkflowRef workflow, std::string_view component, const LogEvent& event,
                SteadyClock::time_point /*deadline*/) override {
    std::lock_guard lock(state_->mu);
    if (state_->down) return Unavailable("the log is down");
    if (state_->refused == component) return Unavailable("appends to " + state_->refused + " fail");
    auto s = state_->streams.find(Key(workflow));
    if (s == state_->streams.end()) return NotFound("no stream for " + Key(workflow));
    if (!s->second.ids.insert(event.id).second) return OkStatus();  // a repeat: stored once
    Queue& q = s->second.components[std::string(component)];
    q.ready.push_back(Stored{event, ++state_->seq, 0, {}});
    ++state_->appended;
    state_->cv.notify_all();
    return OkStatus();
  }
  Result<std::unique_ptr<LogSubscription>> Subscribe(WorkflowRef workflow,
                                                     std::string_view component) override {
    std::lock_guard lock(state_->mu);
    if (state_->down) return Unavailable("the log is down");
    if (!state_->streams.contains(Key(workflow))) {
      return NotFound("no stream for " + Key(workflow));
    }
    return std::unique_ptr<LogSubscription>(new Sub(state_, Key(workflow), std::string(component)));
  }

  // A stream's key: the name, and "@<incarnation>" when it has one.
  static std::string Key(WorkflowRef w) {
    std::string key(w.name);
    if (w.incarnation != 0) key += "@" + std::to_string(w.incarnation);
    return key;
  }

  // Knobs and views.
  void set_down(bool down) {
    std::lock_guard lock(state_->mu);
    state_->down = down;
  }
  // Appends to `component` fail (Unavailable) until called with "".
  void set_refused(std::string component) {
    std::lock_guard lock(state_->mu);
    state_->refused = std::move(component);
  }
  void set_lose_acks(bool lose) {
    std::lock_guard lock(state_->mu);
    state_->lose_acks = lose;
  }
  // Events of `component` not acknowledged yet (ready or handed out).
  std::vector<LogEvent> Unsettled(const std::string& workflow, const std::string& component) {
    std::lock_guard lock(state_->mu);
    std::vector<LogEvent> out;
    Queue* q = FindQueue(workflow, component);
    if (q == nullptr) return out;
    for (const Stored& s : q->ready) out.push_back(s.event);
    for (const auto& [seq, s] : q->out) out.push_back(s.event);
    return out;
  }
  int64_t acked() const { return Count(&State::acked); }
  int64_t termed() const { return Count(&State::termed); }
  int64_t redelivered() const { return Count(&State::redelivered); }

 private:
  struct Stored {
    LogEvent event;
    uint64_t seq = 0;  // in the stream
    uint64_t attempts = 0;
    SteadyClock::time_point due{};  // ready: not before; handed out: redelivered after
  };
  struct Queue {
    std::deque<Stored> ready;
    std::map<uint64_t, Stored> out;  // handed out, by delivery number
  };
  struct Stream {
    std::set<std::string> ids;
    std::map<std::string, Queue> components;
  };
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, Stream> streams;
    std::chrono::milliseconds ack_wait{};
    bool down = false, lose_acks = false;
    std::string refused;
    uint64_t next = 0, seq = 0;
    int64_t appended = 0, acked = 0, termed = 0, redelivered = 0;
  };

  Queue* FindQueue(const std::string& workflow, const std::string& component) {
    auto s = state_->streams.find(workflow);
    if (s == state_->streams.end()) return nullptr;
    auto q = s->second.components.find(component);
    return q == s->second.components.end() ? nullptr : &q->second;
  }
  int64_t Count(int64_t State::*field) const {
    std::lock_guard lock(state_->mu);
    return (*state_).*field;
  }

  class Delivery : public LogDelivery {
   public:
    Delivery(std::shared_ptr<State> state, std::string workflow, std::string component,
             uint64_t number, uint64_t seq, LogEvent event, uint64_t attempt)
        : state_(std::move(state)),
          workflow_(std::move(workflow)),
          component_(std::move(component)),
          number_(number),
          seq_(seq),
          event_(std::move(event)),
          attempt_(attempt) {}
    const LogEvent& event() const override { return event_; }
    uint64_t attempt() const override { return attempt_; }
    // As JetStream's: an acknowledgement names the event, so a late one
    // (the event was handed out again meanwhile) still settles it.
    Status Ack() override {
      std::lock_guard lock(state_->mu);
      if (state_->down) return Unavailable("the log is down");
      if (state_->lose_acks) return OkStatus();
      auto s = state_->streams.find(workflow_);
      if (s == state_->streams.end()) return OkStatus();
      Queue& q = s->second.components[component_];
      auto same = [&](const Stored& st) { return st.seq == seq_; };
      size_t before = q.ready.size() + q.out.size();
      std::erase_if(q.ready, same);
      std::erase_if(q.out, [&](const auto& kv) { return same(kv.second); });
      if (q.ready.size() + q.out.size() < before) ++state_->acked;
      return OkStatus();
    }
    Status Nak(std::chrono::milliseconds delay) override {
      return Settle([&](Queue& q, Stored& s) {
        s.due = SteadyClock::now() + delay;
        q.ready.push_back(std::move(s));
        q.out.erase(number_);
        state_->cv.notify_all();
        return true;
      });
    }
    Status Term() override {
      return Settle([&](Queue& q, Stored&) {
        q.out.erase(number_);
        ++state_->termed;
        return true;
      });
    }
    Status Progress() override {
      return Settle([&](Queue&, Stored& s) {
        s.due = SteadyClock::now() + state_->ack_wait;
        return true;
      });
    }

   private:
    template <typename Fn>
    Status Settle(Fn fn) {
      std::lock_guard lock(state_->mu);
      if (state_->down) return Unavailable("the log is down");
      auto s = state_->streams.find(workflow_);
      if (s == state_->streams.end()) return OkStatus();
      Queue& q = s->second.components[component_];
      auto it = q.out.find(number_);
      if (it == q.out.end()) return OkStatus();  // redelivered meanwhile: a late settle
      fn(q, it->second);
      return OkStatus();
    }
    std::shared_ptr<State> state_;
    std::string workflow_, component_;
    uint64_t number_, seq_;
    LogEvent event_;
    uint64_t attempt_;
  };

  class Sub : public LogSubscription {
   public:
    Sub(std::shared_ptr<State> state, std::string workflow, std::string component)
        : state_(std::move(state)),
          workflow_(std::move(workflow)),
          component_(std::move(component)) {}
    Result<std::vector<std::unique_ptr<LogDelivery>>> Fetch(
        size_t max, std::chrono::milliseconds wait) override {
      std::unique_lock lock(state_->mu);
      auto until = SteadyClock::now() + wait;
      std::vector<std::unique_ptr<LogDelivery>> got;
      for (;;) {
        if (closed_) return FailedPrecondition("closed");
        if (state_->down) return Unavailable("the log is down");
        auto s = state_->streams.find(workflow_);
        if (s == state_->streams.end()) return NotFound("no stream");
        Queue& q = s->second.components[component_];
        auto now = SteadyClock::now();
        // Handed out and not settled within the ack wait: ready again.
        for (auto it = q.out.begin(); it != q.out.end();) {
          if (it->second.due <= now) {
            q.ready.push_back(std::move(it->second));
            it = q.out.erase(it);
          } else {
            ++it;
          }
        }
        for (auto it = q.ready.begin(); it != q.ready.end() && got.size() < max;) {
          if (it->due > now) {
            ++it;
            continue;
          }
          Stored st = std::move(*it);
          it = q.ready.erase(it);
          ++st.attempts;
          if (st.attempts > 1) ++state_->redelivered;
          st.due = now + state_->ack_wait;
          uint64_t number = ++state_->next;
          got.push_back(std::make_unique<Delivery>(state_, workflow_, component_, number, st.seq,
                                                   st.event, st.attempts));
          q.out.emplace(number, std::move(st));
        }
        if (!got.empty() || now >= until) return got;
        // Wake for Close, an append, a Nak, or to look at due times again.
        state_->cv.wait_until(lock, std::min(until, now + std::chrono::milliseconds(20)));
      }
    }
    void Close() override {
      std::lock_guard lock(state_->mu);
      closed_ = true;
      state_->cv.notify_all();
    }

   private:
    std::shared_ptr<State> state_;
    std::string workflow_, component_;
    bool closed_ = false;  // guarded by state_->mu
  };

  std::shared_ptr<State> state_;
};

}  // namespace aether::workflow::testing
