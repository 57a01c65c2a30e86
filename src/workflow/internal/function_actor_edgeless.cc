// The EDGELESS guest ABI of a function instance (docs/edgeless.md, "The
// guest ABI"): how the engine calls a module built with EDGELESS's SDK, and
// what its env.*_asm host calls do. The semantics follow EDGELESS's own
// node (edgeless_node/src/wasm_runner): every buffer the engine passes in
// comes from the guest's edgeless_mem_alloc and is handed back to its
// edgeless_mem_free after the handler; edgeless_mem_clear runs before each
// handler (the SDK's no_std arena resets there).
#include <algorithm>
#include <cstring>

#include "common/limits.h"
#include "common/log.h"
#include "protocol/ids.h"
#include "workflow/internal/function_actor.h"
#include "workflow/internal/instance_state.h"
#include "workflow/internal/source_ref.h"

namespace aether::workflow::internal {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// EDGELESS's CallRet encoding.
constexpr int32_t kNoReply = 0;
constexpr int32_t kReply = 1;
constexpr int32_t kCallError = 2;

constexpr uint32_t kIdBytes = 16;

std::string_view AsText(const EdgelessUuid& id) {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
}

std::string Le32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

}  // namespace

Status FunctionActor::StartEdgeless(const InstanceAssignment& a, Failure* trapped) {
  if (!instance_->HasExport("edgeless_mem_alloc", "i:i")) {
    instance_.reset();
    return InvalidArgument(
        "the module speaks EDGELESS's guest ABI (it exports handle_cast_asm or handle_call_asm) "
        "but does not export edgeless_mem_alloc(i32) -> i32");
  }
  has_free_ = instance_->HasExport("edgeless_mem_free", "v:ii");
  has_clear_ = instance_->HasExport("edgeless_mem_clear", "v:");
  has_init_ = instance_->HasExport("handle_init_asm", "v:iiii");
  has_cast_ = instance_->HasExport("handle_cast_asm", "v:iiii");
  has_call_ = instance_->HasExport("handle_call_asm", "i:iiiiii");
  has_stop_ = instance_->HasExport("handle_stop_asm", "v:");
  node_uuid_ = NodeUuid(core_.options().node_id);
  instance_uuid_ = InstanceUuid(a.workflow, a.component, index());

  // The state it synced last, wherever it ran (instance_state.h); only a
  // module that can sync has one.
  std::optional<std::string> state;
  if (module_syncs_) {
    Pool::Blocking blocking(core_.pool());  // a bucket is a round trip to NATS
    Result<std::unique_ptr<InstanceState>> store = OpenInstanceState(core_.options(), a);
    if (!store.ok()) {
      instance_.reset();
      return Status(store.status().code(), "the instance's state: " + store.status().message());
    }
    Result<std::optional<std::string>> loaded = (*store)->Load();
    if (!loaded.ok()) {
      instance_.reset();
      return Status(loaded.status().code(), "loading the instance's state from " +
                                                (*store)->where() + ": " +
                                                loaded.status().message());
    }
    state = std::move(*loaded);
    state_ = std::move(*store);
  }
  if (!has_init_) return OkStatus();

  event_deadline_ = Clock::now() + event_timeout_;
  auto remaining = [&] {
    return std::max<Clock::duration>(event_deadline_ - Clock::now(), milliseconds(1));
  };
  uint32_t payload = 0, saved = 0;
  Outcome out = Put(a.init_payload, &payload, remaining(), trapped);
  if (out == Outcome::kOk && state) out = Put(*state, &saved, remaining(), trapped);
  if (out == Outcome::kOk) {
    uint64_t args[] = {payload, a.init_payload.size(), saved, state ? state->size() : 0};
    out = CheckCall(instance_->Call("handle_init_asm", "v:iiii", args, remaining()),
                    "handle_init_asm", trapped);
  }
  if (out == Outcome::kOk) {
    if (!a.init_payload.empty()) EdgelessFree(payload, a.init_payload.size());
    if (state && !state->empty()) EdgelessFree(saved, state->size());
    return OkStatus();
  }
  if (out == Outcome::kTrapped && !host_error_.empty()) {
    trapped->message += " (" + host_error_ + ")";
  }
  instance_.reset();
  if (out == Outcome::kTrapped) return Internal(trapped->trap + ": " + trapped->message);
  Status st = InvalidArgument("handle_init_asm failed: " + trapped->message);
  trapped->trap.clear();
  return st;
}

void FunctionActor::EdgelessFree(uint32_t ptr, uint32_t len) {
  if (!has_free_ || instance_ == nullptr) return;
  uint64_t args[] = {ptr, len};
  Failure f;
  // A trap here breaks the instance: the next event's call reports it.
  CheckCall(
      instance_->Call("edgeless_mem_free", "v:ii", args,
                      std::max<Clock::duration>(event_deadline_ - Clock::now(), milliseconds(1))),
      "edgeless_mem_free", &f);
}

Actor::Outcome FunctionActor::HandleEdgeless(Event& e, CallReply* reply, Failure* failure) {
  bool call = static_cast<bool>(e.reply);
  if (call ? !has_call_ : !has_cast_) {
    failure->message =
        call ? "the module exports no handle_call_asm" : "the module exports no handle_cast_asm";
    return Outcome::kFailed;
  }
  event_deadline_ = Clock::now() + event_timeout_;
  event_id_ = e.delivery != nullptr ? e.delivery->event().id : std::string();
  casts_ = 0;
  cast_error_.clear();
  sync_error_.clear();
  host_error_.clear();
  auto remaining = [&] {
    return std::max<Clock::duration>(event_deadline_ - Clock::now(), milliseconds(1));
  };
  Outcome out = Outcome::kOk;
  if (has_clear_) {
    out = CheckCall(instance_->Call("edgeless_mem_clear", "v:", {}, remaining()),
                    "edgeless_mem_clear", failure);
    if (out != Outcome::kOk) return out;
  }
  // The sender, as an EDGELESS instance id: its instance's id, and its
  // node's as this instance's routes know it (the nil id for a sender none
  // of them leads to: it could not be answered anyway).
  SourceParts from = ParseSourceRef(e.source);
  EdgelessUuid src_component = InstanceUuid(workflow(), from.component, from.index);
  EdgelessUuid src_node{};
  if (src_component == instance_uuid_) {
    src_node = node_uuid_;
  } else if (const RawRoute* back = FindRawRoute(src_component)) {
    src_node = back->node;
  }
  uint32_t component = 0, node = 0, payload = 0, out_ptr = 0, out_len = 0;
  out = Put(AsText(src_component), &component, remaining(), failure);
  if (out == Outcome::kOk) out = Put(AsText(src_node), &node, remaining(), failure);
  if (out == Outcome::kOk) out = Put(e.payload, &payload, remaining(), failure, /*always=*/true);
  if (out == Outcome::kOk && call) out = Put(std::string(4, '\0'), &out_ptr, remaining(), failure);
  if (out == Outcome::kOk && call) out = Put(std::string(4, '\0'), &out_len, remaining(), failure);
  if (out != Outcome::kOk) return out;

  int32_t ret = kNoReply;
  if (!call) {
    uint64_t args[] = {node, component, payload, e.payload.size()};
    out = CheckCall(instance_->Call("handle_cast_asm", "v:iiii", args, remaining()),
                    "handle_cast_asm", failure);
  } else {
    uint64_t args[] = {node, component, payload, e.payload.size(), out_ptr, out_len};
    Result<wasm::InstanceCall> r =
        instance_->Call("handle_call_asm", "i:iiiiii", args, remaining());
    out = CheckCall(r, "handle_call_asm", failure);
    if (out == Outcome::kOk) ret = static_cast<int32_t>(r->value);
  }
  if (out == Outcome::kTrapped && !host_error_.empty()) {
    failure->message += " (" + host_error_ + ")";
  }
  if (out != Outcome::kOk) return out;
  out = call ? TakeReply(ret, out_ptr, out_len, reply, failure) : Outcome::kOk;
  EdgelessFree(component, kIdBytes);
  EdgelessFree(node, kIdBytes);
  if (call) {
    EdgelessFree(out_ptr, 4);
    EdgelessFree(out_len, 4);
  }
  if (!e.payload.empty()) EdgelessFree(payload, e.payload.size());
  if (out != Outcome::kOk) return out;

  if (!sync_error_.empty()) {
    failure->message = "the state sync of this event failed: " + sync_error_;
    return Outcome::kFailed;
  }
  if (!call && e.delivery != nullptr && !cast_error_.empty()) {
    failure->message = "a cast of this event failed, so it will be handled again: " + cast_error_;
    return Outcome::kFailed;
  }
  return Outcome::kOk;
}

Actor::Outcome FunctionActor::TakeReply(int32_t ret, uint32_t out_ptr, uint32_t out_len,
                                        CallReply* reply, Failure* failure) {
  if (ret == kReply) {
    // The reply's address and length, each a u32 the guest wrote.
    Result<std::string> where = instance_->ReadMemory(out_ptr, 4);
    Result<std::string> size = instance_->ReadMemory(out_len, 4);
    uint32_t ptr = 0, len = 0;
    if (where.ok() && size.ok()) {
      for (int i = 3; i >= 0; --i) {
        ptr = (ptr << 8) | static_cast<uint8_t>((*where)[i]);
        len = (len << 8) | static_cast<uint8_t>((*size)[i]);
      }
    }
    Result<std::string> bytes = len > kMaxPayload
                                    ? Result<std::string>(InvalidArgument("too large"))
                                    : instance_->ReadMemory(ptr, len);
    if (!where.ok() || !size.ok() || !bytes.ok()) {
      failure->message = "handle_call_asm returned a reply outside the memory or over " +
                         std::to_string(kMaxPayload) + " bytes";
      return Outcome::kFailed;
    }
    reply->bytes = std::move(*bytes);
    return Outcome::kOk;
  }
  if (ret == kNoReply) {
    reply->none = true;
    return Outcome::kOk;
  }
  failure->message = ret == kCallError
                         ? "handle_call_asm answered an error (CallRet::Err)"
                         : "handle_call_asm returned " + std::to_string(ret) + ", not 0, 1 or 2";
  return Outcome::kFailed;
}

void FunctionActor::StopEdgeless(bool graceful) {
  if (instance_ == nullptr || !graceful || !has_stop_) return;
  event_deadline_ = Clock::now() + event_timeout_;
  Failure f;
  Outcome out = Outcome::kOk;
  if (has_clear_) {
    out = CheckCall(instance_->Call("edgeless_mem_clear", "v:", {}, event_timeout_),
                    "edgeless_mem_clear", &f);
  }
  if (out == Outcome::kOk) {
    out = CheckCall(instance_->Call("handle_stop_asm", "v:", {}, event_timeout_), "handle_stop_asm",
                    &f);
  }
  if (out != Outcome::kOk) LOG_WARN("workflow instance {}: {}", id(), f.message);
}

// ---- the host calls -------------------------------------------------------

Status FunctionActor::CastToSelf(std::string_view payload) {
  if (logged()) {
    auto deadline = std::min(Clock::now() + core_.options().log_append_timeout, event_deadline_);
    Status st = core_.AppendTo(*this, component(), payload, deadline, NextCastId("self"));
    if (!st.ok() && cast_error_.empty()) cast_error_ = st.message();
    return st;
  }
  // Never waits: only this instance drains its mailbox, and it is busy.
  Status st = Cast(source_ref(), payload, kNoWait);
  if (st.code() == Code::kResourceExhausted) CountDropped();
  return st;
}

void FunctionActor::EdgelessCast(std::string_view target, std::string_view payload) {
  if (target == "self") {
    (void)CastToSelf(payload);
    return;
  }
  // EDGELESS ignores a cast to an output that is not mapped.
  if (HostCast(target, payload) == -1) {
    GuestLog(0, "cast to \"" + std::string(target) + "\": no such output is mapped");
  }
}

const FunctionActor::RawRoute* FunctionActor::FindRawRoute(const EdgelessUuid& instance) {
  std::shared_ptr<const Wiring> w = wiring();
  if (w == nullptr) return nullptr;
  if (raw_wiring_.lock() != w) {
    raw_routes_.clear();
    for (const auto& [output, route] : *w) {
      for (const Target& t : route.targets) {
        std::optional<protocol::InstanceIdParts> to = protocol::ParseInstanceId(t.where.instance);
        if (!to || to->workflow != workflow()) continue;
        // The first output that reaches an instance will do: each is a
        // route to the same place.
        raw_routes_.try_emplace(
            InstanceUuid(workflow(), to->component, static_cast<uint32_t>(to->index)),
            RawRoute{output, t.where.instance, NodeUuid(t.where.node_id)});
      }
    }
    raw_wiring_ = w;
  }
  auto it = raw_routes_.find(instance);
  return it == raw_routes_.end() ? nullptr : &it->second;
}

void FunctionActor::EdgelessCastRaw(const EdgelessUuid& instance, std::string_view payload) {
  if (instance == instance_uuid_) {
    (void)CastToSelf(payload);
    return;
  }
  const RawRoute* route = FindRawRoute(instance);
  if (route == nullptr) {
    GuestLog(2, "cast_raw to " + FormatUuid(instance) +
                    ": no instance of this workflow with that id sends here or is an output's");
    return;
  }
  int32_t rc = HostCast(route->output, payload, route->instance);
  if (rc != 0) {
    GuestLog(2, "cast_raw to " + route->instance + " dropped (error " + std::to_string(rc) + ")");
  }
}

int32_t FunctionActor::GiveReply(uint32_t out_ptr_ptr, uint32_t out_len_ptr) {
  uint64_t args[] = {last_reply_.size()};
  reentered_ = true;
  Result<wasm::InstanceCall> r = instance_->CallFromHost("edgeless_mem_alloc", "i:i", args);
  reentered_ = false;
  if (!r.ok()) {
    host_error_ = "edgeless_mem_alloc for a call's reply: " + r.status().message();
    return kEdgelessTrap;
  }
  if (r->trap != wasm::TrapKind::kNone) {
    host_error_ = "edgeless_mem_alloc for a call's reply: " + std::string(wasm::TrapName(r->trap));
    return kEdgelessTrap;
  }
  auto ptr = static_cast<uint32_t>(r->value);
  auto len = static_cast<uint32_t>(last_reply_.size());
  if (!instance_->WriteMemory(ptr, last_reply_).ok() ||
      !instance_->WriteMemory(out_ptr_ptr, Le32(ptr)).ok() ||
      !instance_->WriteMemory(out_len_ptr, Le32(len)).ok()) {
    host_error_ = "a call's reply or its out pointers are outside the memory";
    return kEdgelessTrap;
  }
  return kReply;
}

int32_t FunctionActor::EdgelessCall(std::string_view target, std::string_view payload,
                                    uint32_t out_ptr_ptr, uint32_t out_len_ptr) {
  if (target == "self") {
    // This instance handles one event at a time: it would wait for itself.
    GuestLog(2, "a call to \"self\" cannot be answered while this instance handles an event");
    return kCallError;
  }
  return EdgelessCallResult(HostCall(target, payload, 0), out_ptr_ptr, out_len_ptr);
}

int32_t FunctionActor::EdgelessCallResult(int32_t n, uint32_t out_ptr_ptr, uint32_t out_len_ptr) {
  if (n < 0) return kCallError;
  // An empty reply is a reply (a buffer of 0 bytes), as EDGELESS hands it on.
  if (last_reply_none_) return kNoReply;
  return GiveReply(out_ptr_ptr, out_len_ptr);
}

int32_t FunctionActor::EdgelessCallRaw(const EdgelessUuid& instance, std::string_view payload,
                                       uint32_t out_ptr_ptr, uint32_t out_len_ptr) {
  if (instance == instance_uuid_) return EdgelessCall("self", payload, out_ptr_ptr, out_len_ptr);
  const RawRoute* route = FindRawRoute(instance);
  if (route == nullptr) {
    GuestLog(2, "call_raw to " + FormatUuid(instance) +
                    ": no instance of this workflow with that id sends here or is an output's");
    return kCallError;
  }
  return EdgelessCallResult(HostCall(route->output, payload, 0, route->instance), out_ptr_ptr,
                            out_len_ptr);
}

void FunctionActor::EdgelessDelayedCast(uint64_t delay_ms, std::string_view target,
                                        std::string_view payload) {
  int32_t rc = HostDelayedCast(delay_ms, target, payload);
  if (rc == -1) {
    GuestLog(2, "delayed cast to \"" + std::string(target) + "\": no such output is mapped");
  } else if (rc == -4) {
    GuestLog(2, "delayed cast of " + std::to_string(delay_ms) + " ms: over the 24 h limit");
  } else if (rc < 0) {
    GuestLog(2, "delayed cast to \"" + std::string(target) + "\" dropped (error " +
                    std::to_string(rc) + ")");
  }
}

void FunctionActor::EdgelessLog(uint32_t level, std::string_view target, std::string_view message) {
  // EDGELESS: 1 error, 2 warn, 3 info, 4 debug, 5 trace (anything else an
  // error); GuestLog: 0 debug, 1 info, 2 warn, 3 error.
  int ours = 3;
  if (level == 2) ours = 2;
  if (level == 3) ours = 1;
  if (level == 4 || level == 5) ours = 0;
  GuestLog(ours, target.empty() ? std::string(message)
                                : std::string(target) + ": " + std::string(message));
}

void FunctionActor::EdgelessSync(std::string_view state) {
  if (state_ == nullptr) {
    sync_error_ = "the instance has no state store";
    return;
  }
  if (state.size() > kMaxInstanceState) {
    sync_error_ = "the state has " + std::to_string(state.size()) + " bytes, over the limit of " +
                  std::to_string(kMaxInstanceState);
    return;
  }
  Pool::Blocking blocking(core_.pool());  // a file write or a round trip to NATS
  Status st = state_->Save(state);
  if (!st.ok() && sync_error_.empty()) sync_error_ = st.message();
}

}  // namespace aether::workflow::internal
