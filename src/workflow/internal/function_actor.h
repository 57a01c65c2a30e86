// A function instance: a wasm::Instance of the workflow ABI driven by the
// actor's events, and the state its aether.* host functions use.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "wasm/engine.h"
#include "workflow/internal/actor.h"

namespace aether::workflow::internal {

class FunctionActor : public Actor {
 public:
  FunctionActor(Core& core, InstanceAssignment assignment);
  ~FunctionActor() override;

  // For the host functions, on the thread running this instance's event
  // (ExecContext::extension points here during its calls).
  int32_t HostCast(std::string_view output, std::string_view payload);
  int32_t HostCall(std::string_view output, std::string_view payload, uint32_t timeout_ms);
  // Copies the last call's reply into `dst` (at most its size); the count.
  uint32_t HostCallReply(uint8_t* dst, uint32_t dst_len) const;
  int32_t HostDelayedCast(uint32_t delay_ms, std::string_view output, std::string_view payload);

  static constexpr int64_t kMaxDelayed = 1000;  // pending delayed casts per instance

 protected:
  Status StartInstance(const InstanceAssignment& a, Failure* trapped) override;
  Outcome Handle(Event& e, std::string* reply, Failure* failure) override;
  void StopInstance(bool graceful) override;

 private:
  // Writes `bytes` into guest memory from aether_alloc; ptr 0 for no bytes.
  Outcome Put(std::string_view bytes, uint32_t* ptr, std::chrono::nanoseconds timeout,
              Failure* failure);
  Outcome CheckCall(const Result<wasm::InstanceCall>& r, std::string_view what, Failure* failure);
  // The id of the next at-least-once cast through `output` of this event.
  std::string NextCastId(std::string_view output);

  std::unique_ptr<wasm::Instance> instance_;  // pool worker only
  std::chrono::nanoseconds event_timeout_{};
  bool has_alloc_ = false, has_init_ = false, has_cast_ = false, has_call_ = false,
       has_stop_ = false;
  // During an event (pool worker only):
  std::chrono::steady_clock::time_point event_deadline_{};
  std::string last_reply_;
  // At-least-once: the id of the event being handled ("" for a call) and
  // its casts so far, from which each cast's id derives (event_ids.h).
  std::string event_id_;
  uint32_t casts_ = 0;
  std::string cast_error_;  // the first failed cast of the event: it is handled again
  std::atomic<int64_t> delayed_{0};
};

}  // namespace aether::workflow::internal
