#include "workflow/internal/function_actor.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/limits.h"
#include "common/log.h"
#include "workflow/internal/event_ids.h"
#include "workflow/internal/instance_state.h"
#include "workflow/internal/source_ref.h"

namespace aether::workflow::internal {

namespace {

// A guest's budget for an event is real time whatever the host's Clock:
// the sandbox's watchdog interrupts a running guest on the real clock.
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kMaxDelay = std::chrono::hours(24);

}  // namespace

FunctionActor::FunctionActor(Core& core, InstanceAssignment assignment)
    : Actor(core, std::move(assignment)) {}

FunctionActor::~FunctionActor() = default;

Status FunctionActor::StartInstance(const InstanceAssignment& a, Failure* trapped) {
  const WorkflowHostOptions& o = core_.options();
  if (o.engine == nullptr) return FailedPrecondition("the engine has no wasm engine");
  if (!o.module) return Unavailable("the engine cannot fetch modules");
  std::shared_ptr<const wasm::Module> module;
  {
    // Fetching may wait for a download or a compile: other actors keep a thread.
    Pool::Blocking blocking(core_.pool());
    ASSIGN_OR_RETURN(module, o.module(a.function, a.sha256));
  }
  module = o.engine->Current(module);
  module_syncs_ = module->ImportsFunction("env", "sync_asm");

  uint64_t memory = o.memory_limit;
  if (a.memory_limit != 0) memory = std::min(memory, a.memory_limit);
  // Both are whole milliseconds, so the cast is exact.
  auto timeout = std::chrono::duration_cast<milliseconds>(
      EffectiveExecTimeout(milliseconds(a.timeout_ms), o.timeout));
  event_timeout_ = timeout;

  wasm::InstanceOptions io;
  io.args = {a.function};
  io.limits.memory_bytes = memory;
  io.limits.timeout = timeout;
  io.on_output = [this](int fd, std::string_view bytes) { GuestLog(fd == 2 ? 2 : 1, bytes); };
  io.host_data = this;
  Result<std::unique_ptr<wasm::Instance>> inst = o.engine->Instantiate(*module, std::move(io));
  if (!inst.ok()) {
    // Not a reason to wait for the module: it is here and does not start.
    if (inst.status().code() == Code::kNotFound || inst.status().code() == Code::kUnavailable) {
      return Internal(inst.status().message());
    }
    return inst.status();
  }
  instance_ = std::move(*inst);
  // EDGELESS's SDK exports these; Aether's never does.
  if (instance_->HasExport("edgeless_mem_alloc", "i:i") ||
      instance_->HasExport("handle_cast_asm", "v:iiii") ||
      instance_->HasExport("handle_call_asm", "i:iiiiii")) {
    abi_ = Abi::kEdgeless;
    return StartEdgeless(a, trapped);
  }
  abi_ = Abi::kAether;
  has_alloc_ = instance_->HasExport("aether_alloc", "i:i");
  has_init_ = instance_->HasExport("handle_init", "v:ii");
  has_cast_ = instance_->HasExport("handle_cast", "v:iiii");
  has_call_ = instance_->HasExport("handle_call", "I:iiii");
  has_stop_ = instance_->HasExport("handle_stop", "v:");
  if (!has_alloc_ && (has_init_ || has_cast_ || has_call_)) {
    instance_.reset();
    return InvalidArgument("the module does not export aether_alloc(i32) -> i32");
  }
  if (has_init_) {
    event_deadline_ = Clock::now() + event_timeout_;
    uint32_t ptr = 0;
    Outcome out = Put(a.init_payload, &ptr, event_timeout_, trapped);
    if (out == Outcome::kOk) {
      uint64_t args[] = {ptr, a.init_payload.size()};
      out = CheckCall(instance_->Call("handle_init", "v:ii", args,
                                      std::max<Clock::duration>(event_deadline_ - Clock::now(),
                                                                milliseconds(1))),
                      "handle_init", trapped);
    }
    if (out != Outcome::kOk) {
      instance_.reset();
      if (out == Outcome::kTrapped) return Internal(trapped->trap + ": " + trapped->message);
      Status st = InvalidArgument("handle_init failed: " + trapped->message);
      trapped->trap.clear();
      return st;
    }
  }
  return OkStatus();
}

Actor::Outcome FunctionActor::CheckCall(const Result<wasm::InstanceCall>& r, std::string_view what,
                                        Failure* failure) {
  if (!r.ok()) {
    failure->message = std::string(what) + ": " + r.status().message();
    if (r.status().code() == Code::kFailedPrecondition) {
      failure->trap = "host_error";  // a broken instance: re-create it
      return Outcome::kTrapped;
    }
    return Outcome::kFailed;
  }
  if (r->trap != wasm::TrapKind::kNone) {
    failure->trap = std::string(wasm::TrapName(r->trap));
    failure->message = std::string(wasm::TrapMessage(r->trap)) + " in " + std::string(what);
    return Outcome::kTrapped;
  }
  return Outcome::kOk;
}

Actor::Outcome FunctionActor::Put(std::string_view bytes, uint32_t* ptr,
                                  std::chrono::nanoseconds timeout, Failure* failure, bool always) {
  *ptr = 0;
  if (bytes.empty() && !always) return Outcome::kOk;
  const char* alloc = abi_ == Abi::kEdgeless ? "edgeless_mem_alloc" : "aether_alloc";
  uint64_t args[] = {bytes.size()};
  Result<wasm::InstanceCall> r = instance_->Call(alloc, "i:i", args, timeout);
  Outcome out = CheckCall(r, alloc, failure);
  if (out != Outcome::kOk) return out;
  *ptr = static_cast<uint32_t>(r->value);
  if (*ptr == 0 && !bytes.empty()) {
    failure->message =
        std::string(alloc) + "(" + std::to_string(bytes.size()) + ") returned 0 (out of memory)";
    return Outcome::kFailed;
  }
  Status st = instance_->WriteMemory(*ptr, bytes);
  if (!st.ok()) {
    failure->message =
        std::string(alloc) + " returned a buffer outside the memory: " + st.message();
    return Outcome::kFailed;
  }
  return Outcome::kOk;
}

Actor::Outcome FunctionActor::Handle(Event& e, CallReply* reply, Failure* failure) {
  if (abi_ == Abi::kEdgeless) return HandleEdgeless(e, reply, failure);
  bool call = static_cast<bool>(e.reply);
  if (call ? !has_call_ : !has_cast_) {
    failure->message =
        call ? "the module exports no handle_call" : "the module exports no handle_cast";
    return Outcome::kFailed;
  }
  auto start = Clock::now();
  event_deadline_ = start + event_timeout_;
  event_id_ = e.delivery != nullptr ? e.delivery->event().id : std::string();
  casts_ = 0;
  cast_error_.clear();
  auto remaining = [&] {
    return std::max<Clock::duration>(event_deadline_ - Clock::now(), milliseconds(1));
  };
  // The Aether ABI names the sending component, not its instance.
  std::string_view source = ParseSourceRef(e.source).component;
  uint32_t src = 0, data = 0;
  Outcome out = Put(source, &src, remaining(), failure);
  if (out == Outcome::kOk) out = Put(e.payload, &data, remaining(), failure);
  if (out != Outcome::kOk) return out;
  uint64_t args[] = {src, source.size(), data, e.payload.size()};
  if (!call) {
    out = CheckCall(instance_->Call("handle_cast", "v:iiii", args, remaining()), "handle_cast",
                    failure);
    // At-least-once: an event whose casts did not all reach the log is not
    // done, whatever the guest made of the error; handling it again casts
    // the same ids, so the casts that did reach it are not repeated.
    if (out == Outcome::kOk && e.delivery != nullptr && !cast_error_.empty()) {
      failure->message = "a cast of this event failed, so it will be handled again: " + cast_error_;
      return Outcome::kFailed;
    }
    return out;
  }
  Result<wasm::InstanceCall> r = instance_->Call("handle_call", "I:iiii", args, remaining());
  out = CheckCall(r, "handle_call", failure);
  if (out != Outcome::kOk) return out;
  uint32_t ptr = static_cast<uint32_t>(r->value >> 32);
  uint32_t len = static_cast<uint32_t>(r->value & 0xffffffffu);
  if (len == 0) return Outcome::kOk;
  Result<std::string> bytes = instance_->ReadMemory(ptr, len);
  if (!bytes.ok()) {
    failure->message = "handle_call returned a reply outside the memory";
    return Outcome::kFailed;
  }
  reply->bytes = std::move(*bytes);
  return Outcome::kOk;
}

void FunctionActor::StopInstance(bool graceful) {
  if (abi_ == Abi::kEdgeless) {
    StopEdgeless(graceful);
  } else if (instance_ != nullptr && graceful && has_stop_) {
    event_deadline_ = Clock::now() + event_timeout_;
    Failure f;
    if (CheckCall(instance_->Call("handle_stop", "v:", {}, event_timeout_), "handle_stop", &f) !=
        Outcome::kOk) {
      LOG_WARN("workflow instance {}: {}", id(), f.message);
    }
  }
  instance_.reset();
  last_reply_.clear();
  last_reply_.shrink_to_fit();
}

std::string FunctionActor::NextCastId(std::string_view output) {
  return event_id_.empty() ? std::string() : DerivedEventId(event_id_, output, casts_++);
}

int32_t FunctionActor::HostCast(std::string_view output, std::string_view payload,
                                std::string_view instance) {
  if (payload.size() > kMaxPayload) return -5;
  // Held while the target is full (the flow control of workflows), or
  // until the log stored it (at-least-once), within this event's own
  // budget: the watchdog ends the event when it is spent.
  Status st;
  if (logged()) {
    WaitUntil deadline =
        std::min(Clock::now() + core_.options().log_append_timeout, event_deadline_);
    st = core_.AppendFrom(*this, output, payload, deadline, NextCastId(output));
    // An unmapped output is the guest's to handle; the log's failures are
    // the platform's.
    if (!st.ok() && st.code() != Code::kNotFound && cast_error_.empty()) {
      cast_error_ = st.message();
    }
  } else {
    WaitUntil wait = std::min(Clock::now() + core_.options().send_wait, event_deadline_);
    st = core_.CastFrom(*this, output, payload, wait, /*at_edge=*/false, instance);
  }
  if (st.ok()) return 0;
  if (st.code() == Code::kNotFound) {
    std::shared_ptr<const Wiring> w = wiring();
    if (w == nullptr || w->find(output) == w->end()) return -1;
  }
  return GuestErrorCode(st);
}

int32_t FunctionActor::HostCall(std::string_view output, std::string_view payload,
                                uint32_t timeout_ms, std::string_view instance) {
  if (payload.size() > kMaxPayload) return -5;
  milliseconds timeout = timeout_ms != 0 ? milliseconds(timeout_ms)
                                         : std::chrono::duration_cast<milliseconds>(event_timeout_);
  // Not much beyond the event's own deadline: the watchdog ends the event
  // as soon as this host call returns anyway.
  auto left = std::chrono::duration_cast<milliseconds>(event_deadline_ - Clock::now());
  if (left.count() <= 0) return -3;
  timeout = std::min(timeout, left);
  Result<CallReply> r = core_.CallFromBlocking(*this, output, payload, timeout, instance);
  last_reply_none_ = r.ok() && r->none;
  if (r.ok()) {
    last_reply_ = std::move(r->bytes);
    return static_cast<int32_t>(std::min<size_t>(last_reply_.size(), INT32_MAX));
  }
  if (r.status().code() == Code::kNotFound) {
    std::shared_ptr<const Wiring> w = wiring();
    if (w == nullptr || w->find(output) == w->end()) return -1;
  }
  return GuestErrorCode(r.status());
}

uint32_t FunctionActor::HostCallReply(uint8_t* dst, uint32_t dst_len) const {
  uint32_t n = static_cast<uint32_t>(std::min<size_t>(dst_len, last_reply_.size()));
  if (n != 0) std::memcpy(dst, last_reply_.data(), n);
  return n;
}

int32_t FunctionActor::HostDelayedCast(uint64_t delay_ms, std::string_view output,
                                       std::string_view payload) {
  if (payload.size() > kMaxPayload) return -5;
  if (milliseconds(delay_ms) > kMaxDelay) return -4;
  // EDGELESS's "self": this instance, whatever the outputs are.
  bool to_self = abi_ == Abi::kEdgeless && output == "self";
  if (!to_self) {
    std::shared_ptr<const Wiring> w = wiring();
    if (w == nullptr || w->find(output) == w->end()) return -1;
  }
  if (delayed_.fetch_add(1, std::memory_order_relaxed) >= kMaxDelayed) {
    delayed_.fetch_sub(1, std::memory_order_relaxed);
    CountDropped();
    return -2;
  }
  std::weak_ptr<Actor> weak = weak_from_this();
  // At-least-once: the id is fixed now, so that handling this event again
  // schedules a cast the log recognizes (within its dedup window).
  std::string id = logged() ? NextCastId(std::string("delayed:").append(output)) : std::string();
  core_.timer().After(milliseconds(delay_ms), [weak, to_self, out = std::string(output),
                                               data = std::string(payload), id = std::move(id)] {
    std::shared_ptr<Actor> self = weak.lock();
    if (self == nullptr) return;
    static_cast<FunctionActor*>(self.get())->DeliverDelayed(out, to_self, data, id);
  });
  return 0;
}

void FunctionActor::DeliverDelayed(const std::string& output, bool to_self, const std::string& data,
                                   const std::string& id) {
  delayed_.fetch_sub(1, std::memory_order_relaxed);
  if (stopped()) return;
  if (!logged()) {
    // On the timer's thread, which must not wait.
    Status st =
        to_self ? Cast(source_ref(), data, kNoWait) : core_.CastFrom(*this, output, data, kNoWait);
    if (to_self && st.code() == Code::kResourceExhausted) CountDropped();
    if (!st.ok() && st.code() != Code::kResourceExhausted) {
      ReportFailure("delayed cast to \"" + output + "\": " + st.message());
    }
    return;
  }
  // Appending is a round trip to the log: on a pool worker.
  std::shared_ptr<Actor> self = shared_from_this();
  core_.Post(
      [self, output, to_self, data, id] {
        auto* f = static_cast<FunctionActor*>(self.get());
        auto deadline = std::chrono::steady_clock::now() + f->core_.options().log_append_timeout;
        Status st = to_self ? f->core_.AppendTo(*f, f->component(), data, deadline, id)
                            : f->core_.AppendFrom(*f, output, data, deadline, id);
        if (!st.ok()) f->ReportFailure("delayed cast to \"" + output + "\": " + st.message());
      },
      nullptr);
}

}  // namespace aether::workflow::internal
