// Host functions that guests import, and the per-execution context they get.
//
// A host function is a plain function whose first parameter is the
// execution context (`void* ctx`, really an ExecContext*) followed by the
// wasm parameters mapped to C types: i32 -> uint32_t, i64 -> uint64_t,
// f32 -> float, f64 -> double. It must not throw and must not longjmp: to
// end the execution it sets ctx->hdr.unwind (see abi.h) and returns.
// Host functions run on the thread executing the guest.
#pragma once

#include <wasm-rt.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "wasm/abi.h"

namespace aether::wasm {

class WasiCtx;

// Signature: result char, ':', param chars. i=i32 I=i64 f=f32 F=f64 v=no result.
// Example: fd_write(i32,i32,i32,i32)->i32 is "i:iiii"; proc_exit(i32) is "v:i".
struct HostFunction {
  std::string module;
  std::string name;
  std::string signature;
  void* fn = nullptr;
};

// The functions a module may import. Filled once at startup, then read-only
// (safe to share between threads).
class HostRegistry {
 public:
  void Add(HostFunction f);
  const HostFunction* Find(std::string_view module, std::string_view name) const;
  // Every function, in no particular order.
  std::vector<const HostFunction*> All() const;
  // Every function of `module`, for error messages.
  std::vector<std::string> NamesIn(std::string_view module) const;

 private:
  std::unordered_map<std::string, HostFunction> functions_;  // key: module + '\0' + name
};

// Per-execution state reachable from every host call. Owned by the runtime
// for the duration of one execution (or one workflow instance).
struct ExecContext {
  aether_ctx_hdr hdr{};                // must stay the first member
  wasm_rt_memory_t* memory = nullptr;  // the guest's exported "memory"; null if none
  WasiCtx* wasi = nullptr;             // null if the module imports no WASI
  void* extension = nullptr;           // state of other ABIs (workflow instances)
};

static_assert(offsetof(ExecContext, hdr) == 0, "glue reads the header at offset 0");

// Bounds-checked views of guest memory for host functions. All return
// nullptr when [ptr, ptr+len) is outside the current memory.
inline uint8_t* GuestPtr(const ExecContext* ctx, uint32_t ptr, uint64_t len) {
  if (ctx->memory == nullptr) return nullptr;
  if (static_cast<uint64_t>(ptr) + len > ctx->memory->size) return nullptr;
  return ctx->memory->data + ptr;
}

}  // namespace aether::wasm
