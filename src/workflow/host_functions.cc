// The aether.* imports of the workflow ABI (docs/workflow-protocol.md). They
// run on the thread executing the guest; ExecContext::extension is the
// FunctionActor of the running instance, null in a request-ABI execution
// (/execute), where every one of them ends the execution with a trap.
#include <cstring>
#include <string_view>

#include "wasm/host.h"
#include "workflow/internal/function_actor.h"
#include "workflow/workflow_host.h"

namespace aether::workflow {

namespace {

using internal::FunctionActor;

constexpr uint32_t kMaxNameBytes = 256;

wasm::ExecContext* Exec(void* ctx) { return static_cast<wasm::ExecContext*>(ctx); }

// Null (the caller traps) in an /execute run, and while an EDGELESS guest's
// allocator runs inside one of its host calls (FunctionActor::reentered).
FunctionActor* Self(void* ctx) {
  auto* self = static_cast<FunctionActor*>(Exec(ctx)->extension);
  return self != nullptr && !self->reentered() ? self : nullptr;
}

void Trap(void* ctx) { Exec(ctx)->hdr.unwind = AETHER_UNWIND_TRAP; }

// Outputs named "@<component>" are the engine's routes back to the
// components that send here, for EDGELESS's raw casts; an Aether guest's
// outputs are the ones its spec maps.
bool Reserved(std::string_view output) { return !output.empty() && output.front() == '@'; }

// A view of guest bytes, or false (the caller traps) when out of bounds.
bool View(void* ctx, uint32_t ptr, uint32_t len, std::string_view* out) {
  uint8_t* p = wasm::GuestPtr(Exec(ctx), ptr, len);
  if (p == nullptr) return false;
  *out = std::string_view(reinterpret_cast<const char*>(p), len);
  return true;
}

uint32_t AetherCast(void* ctx, uint32_t out_ptr, uint32_t out_len, uint32_t ptr, uint32_t len) {
  FunctionActor* self = Self(ctx);
  std::string_view output, payload;
  if (self == nullptr || !View(ctx, out_ptr, out_len, &output) || !View(ctx, ptr, len, &payload)) {
    Trap(ctx);
    return 0;
  }
  if (Reserved(output)) return static_cast<uint32_t>(-1);
  return static_cast<uint32_t>(self->HostCast(output, payload));
}

uint32_t AetherCall(void* ctx, uint32_t out_ptr, uint32_t out_len, uint32_t ptr, uint32_t len,
                    uint32_t timeout_ms) {
  FunctionActor* self = Self(ctx);
  std::string_view output, payload;
  if (self == nullptr || !View(ctx, out_ptr, out_len, &output) || !View(ctx, ptr, len, &payload)) {
    Trap(ctx);
    return 0;
  }
  if (Reserved(output)) return static_cast<uint32_t>(-1);
  return static_cast<uint32_t>(self->HostCall(output, payload, timeout_ms));
}

uint32_t AetherCallReply(void* ctx, uint32_t dst_ptr, uint32_t dst_len) {
  FunctionActor* self = Self(ctx);
  uint8_t* dst = wasm::GuestPtr(Exec(ctx), dst_ptr, dst_len);
  if (self == nullptr || dst == nullptr) {
    Trap(ctx);
    return 0;
  }
  return self->HostCallReply(dst, dst_len);
}

uint32_t AetherDelayedCast(void* ctx, uint32_t delay_ms, uint32_t out_ptr, uint32_t out_len,
                           uint32_t ptr, uint32_t len) {
  FunctionActor* self = Self(ctx);
  std::string_view output, payload;
  if (self == nullptr || !View(ctx, out_ptr, out_len, &output) || !View(ctx, ptr, len, &payload)) {
    Trap(ctx);
    return 0;
  }
  if (Reserved(output)) return static_cast<uint32_t>(-1);
  return static_cast<uint32_t>(self->HostDelayedCast(delay_ms, output, payload));
}

void AetherLog(void* ctx, uint32_t level, uint32_t ptr, uint32_t len) {
  FunctionActor* self = Self(ctx);
  std::string_view message;
  if (self == nullptr || !View(ctx, ptr, len, &message)) {
    Trap(ctx);
    return;
  }
  self->GuestLog(static_cast<int>(std::min<uint32_t>(level, 3)), message);
}

void AetherTelemetry(void* ctx, uint32_t name_ptr, uint32_t name_len, double value) {
  FunctionActor* self = Self(ctx);
  std::string_view name;
  if (self == nullptr || !View(ctx, name_ptr, name_len, &name)) {
    Trap(ctx);
    return;
  }
  if (name.empty() || name.size() > kMaxNameBytes) return;  // ignored, like a 33rd name
  self->SetTelemetry(name, value);
}

}  // namespace

std::vector<wasm::HostFunction> WorkflowHost::HostFunctions() {
  auto f = [](const char* name, const char* sig, void* fn) {
    return wasm::HostFunction{"aether", name, sig, fn};
  };
  std::vector<wasm::HostFunction> all = EdgelessHostFunctions();
  all.insert(all.end(),
             {
                 f("cast", "i:iiii", reinterpret_cast<void*>(&AetherCast)),
                 f("call", "i:iiiii", reinterpret_cast<void*>(&AetherCall)),
                 f("call_reply", "i:ii", reinterpret_cast<void*>(&AetherCallReply)),
                 f("delayed_cast", "i:iiiii", reinterpret_cast<void*>(&AetherDelayedCast)),
                 f("log", "v:iii", reinterpret_cast<void*>(&AetherLog)),
                 f("telemetry", "v:iiF", reinterpret_cast<void*>(&AetherTelemetry)),
             });
  return all;
}

}  // namespace aether::workflow
