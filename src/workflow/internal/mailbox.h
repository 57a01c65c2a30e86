// A bounded FIFO of events for one instance. Not thread-safe: the actor
// guards it with its own mutex.
//
// The slots keep their strings' buffers: Push assigns into a slot and Pop
// swaps the slot with the worker's Event, so a steady stream of events of
// similar sizes allocates nothing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workflow/event_log.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::internal {

struct Event {
  std::string source;
  std::string payload;
  ReplyFn reply;                // empty for a cast
  Clock::TimePoint deadline{};  // calls: when the caller gives up (host clock)
  // An at-least-once cast: from the log, settled once handled (actor.cc).
  std::unique_ptr<LogDelivery> delivery;
};

class Mailbox {
 public:
  explicit Mailbox(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
    ring_.resize(std::min<size_t>(capacity_, 16));
  }

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t capacity() const { return capacity_; }

  // False when `capacity` events are waiting already (nothing is moved then).
  bool Push(std::string_view source, std::string_view payload, ReplyFn* reply,
            Clock::TimePoint deadline, std::unique_ptr<LogDelivery>* delivery = nullptr) {
    if (count_ == capacity_) return false;
    if (count_ == ring_.size()) Grow();
    Event& e = ring_[(head_ + count_) % ring_.size()];
    e.source.assign(source);
    e.payload.assign(payload);
    if (reply != nullptr) e.reply = std::move(*reply);
    if (delivery != nullptr) e.delivery = std::move(*delivery);
    e.deadline = deadline;
    ++count_;
    return true;
  }

  // Swaps the oldest event into `out` (whose old buffers the slot keeps).
  bool Pop(Event& out) {
    if (count_ == 0) return false;
    Event& e = ring_[head_];
    out.source.swap(e.source);
    out.payload.swap(e.payload);
    out.reply = std::move(e.reply);
    e.reply = nullptr;
    out.delivery = std::move(e.delivery);
    out.deadline = e.deadline;
    head_ = (head_ + 1) % ring_.size();
    --count_;
    return true;
  }

  // Every waiting event, oldest first; the mailbox is empty afterwards.
  std::vector<Event> TakeAll() {
    std::vector<Event> out;
    out.reserve(count_);
    Event e;
    while (Pop(e)) out.push_back(std::move(e));
    return out;
  }

 private:
  void Grow() {
    std::vector<Event> bigger(std::min(capacity_, ring_.size() * 2));
    for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    ring_ = std::move(bigger);
    head_ = 0;
  }

  size_t capacity_;
  std::vector<Event> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace aether::workflow::internal
