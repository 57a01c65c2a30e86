// A function instance: a wasm::Instance driven by the actor's events, and
// the state its host functions use. It speaks one of two guest ABIs,
// detected from the module's exports when it starts: Aether's (aether.*
// imports, docs/workflow-protocol.md; function_actor.cc) or EDGELESS's
// (env.*_asm imports, docs/edgeless.md; function_actor_edgeless.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "wasm/engine.h"
#include "workflow/internal/actor.h"
#include "workflow/internal/edgeless_ids.h"

namespace aether::workflow::internal {

class InstanceState;  // instance_state.h

class FunctionActor : public Actor {
 public:
  FunctionActor(Core& core, InstanceAssignment assignment);
  ~FunctionActor() override;

  // For the host functions, on the thread running this instance's event
  // (ExecContext::extension points here during its calls).
  // `instance`: that instance among the output's targets (an EDGELESS raw
  // cast or call), else the round robin's pick.
  int32_t HostCast(std::string_view output, std::string_view payload,
                   std::string_view instance = {});
  int32_t HostCall(std::string_view output, std::string_view payload, uint32_t timeout_ms,
                   std::string_view instance = {});
  // Copies the last call's reply into `dst` (at most its size); the count.
  uint32_t HostCallReply(uint8_t* dst, uint32_t dst_len) const;
  int32_t HostDelayedCast(uint64_t delay_ms, std::string_view output, std::string_view payload);

  // EDGELESS's host calls (edgeless_host_functions.cc), same thread. A
  // target is an output, or "self" (this instance). kEdgelessTrap: the
  // guest misused the ABI (or its allocator trapped): end its call.
  static constexpr int32_t kEdgelessTrap = -1;
  void EdgelessCast(std::string_view target, std::string_view payload);
  // To the instance with that id (edgeless_ids.h): this one, or one of the
  // targets of its outputs (its senders' "@" routes among them).
  void EdgelessCastRaw(const EdgelessUuid& instance, std::string_view payload);
  // CallRet as EDGELESS encodes it: 0 no reply, 1 reply (a buffer from the
  // guest's edgeless_mem_alloc, its address and length written to the two
  // u32 out pointers), 2 error; or kEdgelessTrap.
  int32_t EdgelessCall(std::string_view target, std::string_view payload, uint32_t out_ptr_ptr,
                       uint32_t out_len_ptr);
  int32_t EdgelessCallRaw(const EdgelessUuid& instance, std::string_view payload,
                          uint32_t out_ptr_ptr, uint32_t out_len_ptr);
  void EdgelessDelayedCast(uint64_t delay_ms, std::string_view target, std::string_view payload);
  void EdgelessLog(uint32_t level, std::string_view target, std::string_view message);
  void EdgelessSync(std::string_view state);
  const EdgelessUuid& node_uuid() const { return node_uuid_; }
  // While the engine runs the guest's allocator from inside one of its host
  // calls: a host call made then is refused (a trap), so host calls never
  // nest.
  bool reentered() const { return reentered_; }
  const EdgelessUuid& instance_uuid() const { return instance_uuid_; }

  static constexpr int64_t kMaxDelayed = 1000;  // pending delayed casts per instance

 protected:
  Status StartInstance(const InstanceAssignment& a, Failure* trapped) override;
  Outcome Handle(Event& e, CallReply* reply, Failure* failure) override;
  void StopInstance(bool graceful) override;

 private:
  enum class Abi { kAether, kEdgeless };

  // Writes `bytes` into guest memory from the ABI's allocator; ptr 0 for no
  // bytes unless `always` (EDGELESS hands even an empty payload a buffer).
  Outcome Put(std::string_view bytes, uint32_t* ptr, std::chrono::nanoseconds timeout,
              Failure* failure, bool always = false);

  // The EDGELESS ABI's side of StartInstance, Handle and StopInstance.
  Status StartEdgeless(const InstanceAssignment& a, Failure* trapped);
  Outcome HandleEdgeless(Event& e, CallReply* reply, Failure* failure);
  void StopEdgeless(bool graceful);
  // A call's reply from handle_call_asm's CallRet and out pointers.
  Outcome TakeReply(int32_t ret, uint32_t out_ptr, uint32_t out_len, CallReply* reply,
                    Failure* failure);
  // Frees a buffer the engine allocated (edgeless_mem_free, when exported).
  void EdgelessFree(uint32_t ptr, uint32_t len);
  // Where a raw cast or call to an instance id goes: an output and the
  // instance among its targets, and that instance's node.
  struct RawRoute {
    std::string output;
    std::string instance;
    EdgelessUuid node{};
  };
  // The route to `instance`, or null when none of this instance's outputs
  // leads there. Rebuilds the cache when the wiring changed.
  const RawRoute* FindRawRoute(const EdgelessUuid& instance);
  // A call's CallRet for the guest from HostCall's result.
  int32_t EdgelessCallResult(int32_t n, uint32_t out_ptr_ptr, uint32_t out_len_ptr);
  // An EDGELESS cast to this instance's own component.
  Status CastToSelf(std::string_view payload);
  // Hands the last call's reply to the guest (EdgelessCall's result).
  int32_t GiveReply(uint32_t out_ptr_ptr, uint32_t out_len_ptr);
  // The delivery of a delayed cast, on the timer's thread.
  void DeliverDelayed(const std::string& output, bool to_self, const std::string& data,
                      const std::string& id);
  Outcome CheckCall(const Result<wasm::InstanceCall>& r, std::string_view what, Failure* failure);
  // The id of the next at-least-once cast through `output` of this event.
  std::string NextCastId(std::string_view output);

  std::unique_ptr<wasm::Instance> instance_;  // pool worker only
  std::chrono::nanoseconds event_timeout_{};
  Abi abi_ = Abi::kAether;
  bool has_alloc_ = false, has_init_ = false, has_cast_ = false, has_call_ = false,
       has_stop_ = false;
  // EDGELESS: the optional allocator exports, this instance's ids, and the
  // store of the state it syncs (opened when it starts, if it imports sync_asm).
  bool has_free_ = false, has_clear_ = false, module_syncs_ = false;
  EdgelessUuid node_uuid_{}, instance_uuid_{};
  std::unique_ptr<InstanceState> state_;
  // The routes by instance id, for raw casts and the ids of senders:
  // rebuilt when the wiring changes. Weak: a wiring holds its targets'
  // actors, whose own caches would hold this one (a cycle, never freed).
  std::weak_ptr<const Wiring> raw_wiring_;
  std::map<EdgelessUuid, RawRoute> raw_routes_;
  // During an event (pool worker only):
  std::chrono::steady_clock::time_point event_deadline_{};
  std::string last_reply_;
  bool last_reply_none_ = false;  // the last call's callee had no reply (CallReply::none)
  // At-least-once: the id of the event being handled ("" for a call) and
  // its casts so far, from which each cast's id derives (event_ids.h).
  std::string event_id_;
  uint32_t casts_ = 0;
  std::string cast_error_;  // the first failed cast of the event: it is handled again
  std::string sync_error_;  // EDGELESS: a failed sync fails the event
  std::string host_error_;  // EDGELESS: why a host call ended the guest's call
  bool reentered_ = false;
  std::atomic<int64_t> delayed_{0};
};

}  // namespace aether::workflow::internal
