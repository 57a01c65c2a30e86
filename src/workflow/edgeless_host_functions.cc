// The env.*_asm imports of EDGELESS's guest ABI (edgeless_function's
// imports.rs; docs/edgeless.md). Like the aether.* ones (host_functions.cc)
// they run on the thread executing the guest, with the FunctionActor of the
// running instance as ExecContext::extension (null in an /execute run,
// where each ends the execution with a trap). Pointers and lengths are
// wasm32 usize (i32); a range outside the guest's memory is a trap, as a
// failed slice is in EDGELESS's runner.
#include <array>
#include <cstring>
#include <string_view>

#include "wasm/host.h"
#include "workflow/internal/function_actor.h"
#include "workflow/workflow_host.h"

namespace aether::workflow {

namespace {

using internal::EdgelessUuid;
using internal::FunctionActor;

wasm::ExecContext* EdgelessExec(void* ctx) { return static_cast<wasm::ExecContext*>(ctx); }

// Null (the caller traps) in an /execute run and inside the guest's
// allocator run by a host call (FunctionActor::reentered).
FunctionActor* EdgelessSelf(void* ctx) {
  auto* self = static_cast<FunctionActor*>(EdgelessExec(ctx)->extension);
  return self != nullptr && !self->reentered() ? self : nullptr;
}

void EdgelessTrap(void* ctx) {
  // A nested call that ended already chose the outer call's end.
  if (EdgelessExec(ctx)->hdr.unwind == AETHER_UNWIND_NONE) {
    EdgelessExec(ctx)->hdr.unwind = AETHER_UNWIND_TRAP;
  }
}

bool Bytes(void* ctx, uint32_t ptr, uint32_t len, std::string_view* out) {
  uint8_t* p = wasm::GuestPtr(EdgelessExec(ctx), ptr, len);
  if (p == nullptr) return false;
  *out = std::string_view(reinterpret_cast<const char*>(p), len);
  return true;
}

// The running instance with two byte ranges of its guest's memory; null
// (and the call ends with a trap) when there is no instance or a range is
// outside the memory.
FunctionActor* WithBytes(void* ctx, uint32_t ptr_a, uint32_t len_a, std::string_view* a,
                         uint32_t ptr_b, uint32_t len_b, std::string_view* b) {
  FunctionActor* self = EdgelessSelf(ctx);
  if (self == nullptr || !Bytes(ctx, ptr_a, len_a, a) || !Bytes(ctx, ptr_b, len_b, b)) {
    EdgelessTrap(ctx);
    return nullptr;
  }
  return self;
}

// The running instance with the component half of an instance id (the node
// half is not needed to route: components are named per workflow, wherever
// they run) and a payload; null (and the call ends with a trap) as for
// WithBytes. Both halves must be in memory.
FunctionActor* WithRawTarget(void* ctx, uint32_t node_ptr, uint32_t component_ptr,
                             EdgelessUuid* component, uint32_t ptr, uint32_t len,
                             std::string_view* payload) {
  FunctionActor* self = EdgelessSelf(ctx);
  const uint8_t* node = wasm::GuestPtr(EdgelessExec(ctx), node_ptr, 16);
  const uint8_t* id = wasm::GuestPtr(EdgelessExec(ctx), component_ptr, 16);
  if (self == nullptr || node == nullptr || id == nullptr || !Bytes(ctx, ptr, len, payload)) {
    EdgelessTrap(ctx);
    return nullptr;
  }
  std::memcpy(component->data(), id, component->size());
  return self;
}

void CastAsm(void* ctx, uint32_t target_ptr, uint32_t target_len, uint32_t ptr, uint32_t len) {
  std::string_view target, payload;
  if (FunctionActor* self = WithBytes(ctx, target_ptr, target_len, &target, ptr, len, &payload)) {
    self->EdgelessCast(target, payload);
  }
}

void CastRawAsm(void* ctx, uint32_t node_ptr, uint32_t component_ptr, uint32_t ptr, uint32_t len) {
  EdgelessUuid component{};
  std::string_view payload;
  if (FunctionActor* self =
          WithRawTarget(ctx, node_ptr, component_ptr, &component, ptr, len, &payload)) {
    self->EdgelessCastRaw(component, payload);
  }
}

uint32_t Answer(void* ctx, int32_t rc) {
  if (rc == FunctionActor::kEdgelessTrap) {
    EdgelessTrap(ctx);
    return 0;
  }
  return static_cast<uint32_t>(rc);
}

uint32_t CallAsm(void* ctx, uint32_t target_ptr, uint32_t target_len, uint32_t ptr, uint32_t len,
                 uint32_t out_ptr_ptr, uint32_t out_len_ptr) {
  std::string_view target, payload;
  FunctionActor* self = WithBytes(ctx, target_ptr, target_len, &target, ptr, len, &payload);
  if (self == nullptr) return 0;
  return Answer(ctx, self->EdgelessCall(target, payload, out_ptr_ptr, out_len_ptr));
}

uint32_t CallRawAsm(void* ctx, uint32_t node_ptr, uint32_t component_ptr, uint32_t ptr,
                    uint32_t len, uint32_t out_ptr_ptr, uint32_t out_len_ptr) {
  EdgelessUuid component{};
  std::string_view payload;
  FunctionActor* self = WithRawTarget(ctx, node_ptr, component_ptr, &component, ptr, len, &payload);
  if (self == nullptr) return 0;
  return Answer(ctx, self->EdgelessCallRaw(component, payload, out_ptr_ptr, out_len_ptr));
}

void DelayedCastAsm(void* ctx, uint64_t delay_ms, uint32_t target_ptr, uint32_t target_len,
                    uint32_t ptr, uint32_t len) {
  std::string_view target, payload;
  if (FunctionActor* self = WithBytes(ctx, target_ptr, target_len, &target, ptr, len, &payload)) {
    self->EdgelessDelayedCast(delay_ms, target, payload);
  }
}

void TelemetryLogAsm(void* ctx, uint32_t level, uint32_t target_ptr, uint32_t target_len,
                     uint32_t msg_ptr, uint32_t msg_len) {
  std::string_view target, message;
  if (FunctionActor* self =
          WithBytes(ctx, target_ptr, target_len, &target, msg_ptr, msg_len, &message)) {
    self->EdgelessLog(level, target, message);
  }
}

void SlfAsm(void* ctx, uint32_t out_node_ptr, uint32_t out_component_ptr) {
  FunctionActor* self = EdgelessSelf(ctx);
  uint8_t* node = wasm::GuestPtr(EdgelessExec(ctx), out_node_ptr, 16);
  uint8_t* component = wasm::GuestPtr(EdgelessExec(ctx), out_component_ptr, 16);
  if (self == nullptr || node == nullptr || component == nullptr) {
    EdgelessTrap(ctx);
    return;
  }
  std::memcpy(node, self->node_uuid().data(), 16);
  std::memcpy(component, self->instance_uuid().data(), 16);
}

void SyncAsm(void* ctx, uint32_t ptr, uint32_t len) {
  FunctionActor* self = EdgelessSelf(ctx);
  std::string_view state;
  if (self == nullptr || !Bytes(ctx, ptr, len, &state)) {
    EdgelessTrap(ctx);
    return;
  }
  self->EdgelessSync(state);
}

}  // namespace

std::vector<wasm::HostFunction> WorkflowHost::EdgelessHostFunctions() {
  auto f = [](const char* name, const char* sig, void* fn) {
    return wasm::HostFunction{"env", name, sig, fn};
  };
  return {
      f("cast_asm", "v:iiii", reinterpret_cast<void*>(&CastAsm)),
      f("cast_raw_asm", "v:iiii", reinterpret_cast<void*>(&CastRawAsm)),
      f("call_asm", "i:iiiiii", reinterpret_cast<void*>(&CallAsm)),
      f("call_raw_asm", "i:iiiiii", reinterpret_cast<void*>(&CallRawAsm)),
      f("delayed_cast_asm", "v:Iiiii", reinterpret_cast<void*>(&DelayedCastAsm)),
      f("telemetry_log_asm", "v:iiiii", reinterpret_cast<void*>(&TelemetryLogAsm)),
      f("slf_asm", "v:ii", reinterpret_cast<void*>(&SlfAsm)),
      f("sync_asm", "v:ii", reinterpret_cast<void*>(&SyncAsm)),
  };
}

}  // namespace aether::workflow
