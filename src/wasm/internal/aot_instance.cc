#include "wasm/internal/aot_instance.h"

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "wasm/internal/memory_pool.h"
#include "wasm/wasi/wasi.h"

namespace aether::wasm {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string DescribeTrap(TrapKind trap) {
  return std::string(TrapName(trap)) + ": " + std::string(TrapMessage(trap));
}

Status NestedCall() {
  return FailedPrecondition(
      "cannot enter a guest from inside another guest's host call on the same thread; hand the "
      "work to another thread (e.g. a mailbox)");
}

class AotInstance final : public Instance {
 public:
  AotInstance(Runtime& runtime, std::shared_ptr<const AotModule> module, InstanceOptions options)
      : runtime_(runtime), module_(std::move(module)), options_(std::move(options)) {}

  ~AotInstance() override {
    // Every instantiation attempt, failed ones included, may hold memory.
    if (instantiated_) runtime_.Free(module_->loaded(), instance());
  }

  AotInstance(const AotInstance&) = delete;
  AotInstance& operator=(const AotInstance&) = delete;

  // Creates the WASI context, instantiates, runs `_initialize` if exported.
  Status Start() {
    if (module_->uses_wasi()) {
      WasiOptions wo;
      wo.args = options_.args;
      wo.env = options_.env;
      // Written bytes go straight to the owner (or nowhere): an instance
      // lives for long, so nothing may accumulate in a buffer.
      if (options_.on_output) {
        wo.output_sink = options_.on_output;
      } else {
        wo.output_sink = [](int, std::string_view) {};
      }
      ASSIGN_OR_RETURN(wasi_, WasiCtx::Create(wo));
    }
    ctx_.wasi = wasi_.get();
    ctx_.extension = options_.host_data;

    size_t words = (module_->loaded().instance_size() + sizeof(std::max_align_t) - 1) /
                   sizeof(std::max_align_t);
    buffer_.assign(words == 0 ? 1 : words, std::max_align_t{});  // zeroed, never resized

    entry_.ctx = &ctx_;
    entry_.limit_bytes = options_.limits.memory_bytes;
    entry_.timeout = options_.limits.timeout;
    auto initialize = module_->loaded().export_void("_initialize");
    instantiated_ = true;
    CallOutcome out = runtime_.Instantiate(module_->loaded(), instance(), initialize, &entry_);
    const char* what = initialize != nullptr ? "instantiation or _initialize" : "instantiation";
    switch (out.kind) {
      case CallOutcome::kReturned:
        return OkStatus();
      case CallOutcome::kInitFailed:
        return ResourceExhausted("cannot instantiate the module: " + out.init_error);
      case CallOutcome::kTrapped:
        return FailedPrecondition(std::string(what) + " trapped (" + DescribeTrap(out.trap) + ")");
      case CallOutcome::kExited:
        return FailedPrecondition(std::string(what) + " called proc_exit(" +
                                  std::to_string(wasi_ ? wasi_->exit_code() : 0) + ")");
    }
    return Internal("unknown instantiation outcome");
  }

  bool HasExport(std::string_view name, std::string_view signature) const override {
    return module_->FindExport(name, signature) != nullptr;
  }

  Result<InstanceCall> Call(std::string_view name, std::string_view signature,
                            std::span<const uint64_t> args,
                            std::chrono::nanoseconds timeout) override {
    if (broken_ != TrapKind::kNone) {
      return FailedPrecondition("the instance is broken: an earlier call ended with " +
                                DescribeTrap(broken_) + "; re-create it");
    }
    aether_export_thunk fn = module_->FindExport(name, signature);
    if (fn == nullptr) return MissingExport(name, signature);
    if (Runtime::InsideGuestCall()) return NestedCall();
    size_t arity = signature.size() - 2;  // FindExport matched a well-formed "r:params"
    if (args.size() != arity) {
      return InvalidArgument(std::string(name) + " takes " + std::to_string(arity) +
                             " arguments, the call passed " + std::to_string(args.size()));
    }
    // A negative timeout is a deadline already passed: the watchdog fires at once.
    entry_.timeout = timeout.count() == 0 ? options_.limits.timeout : timeout;
    InstanceCall result;
    auto t0 = std::chrono::steady_clock::now();
    CallOutcome out = runtime_.Call(instance(), fn, args.data(), &result.value, &entry_);
    result.exec_ms = MsSince(t0);
    switch (out.kind) {
      case CallOutcome::kReturned:
        break;
      case CallOutcome::kTrapped:
        result.trap = out.trap;
        break;
      case CallOutcome::kExited:      // proc_exit ends an instance like a host-detected fault
      case CallOutcome::kInitFailed:  // cannot happen after instantiation; be safe
        result.trap = TrapKind::kHostError;
        break;
    }
    if (result.trap != TrapKind::kNone) {
      broken_ = result.trap;
      result.value = 0;
    }
    return result;
  }

  Result<InstanceCall> CallFromHost(std::string_view name, std::string_view signature,
                                    std::span<const uint64_t> args) override {
    if (broken_ != TrapKind::kNone || ctx_.hdr.unwind != AETHER_UNWIND_NONE) {
      return FailedPrecondition("the instance is ending its call (a trap or a timeout)");
    }
    aether_export_thunk fn = module_->FindExport(name, signature);
    if (fn == nullptr) return MissingExport(name, signature);
    if (!Runtime::InsideHostCallOf(&ctx_)) {
      return FailedPrecondition("CallFromHost outside a host call of this instance");
    }
    size_t arity = signature.size() - 2;
    if (args.size() != arity) {
      return InvalidArgument(std::string(name) + " takes " + std::to_string(arity) +
                             " arguments, the call passed " + std::to_string(args.size()));
    }
    InstanceCall result;
    auto t0 = std::chrono::steady_clock::now();
    CallOutcome out = runtime_.Reenter(instance(), fn, args.data(), &result.value);
    result.exec_ms = MsSince(t0);
    if (out.kind != CallOutcome::kReturned) {
      result.trap = out.trap != TrapKind::kNone ? out.trap : TrapKind::kHostError;
      result.value = 0;
      broken_ = result.trap;
    }
    return result;
  }

  Result<std::string> ReadMemory(uint32_t ptr, uint32_t len) const override {
    RETURN_IF_ERROR(CheckRange(ptr, len));
    return std::string(reinterpret_cast<const char*>(ctx_.memory->data) + ptr, len);
  }

  Status WriteMemory(uint32_t ptr, std::string_view bytes) override {
    if (bytes.size() > UINT32_MAX) return InvalidArgument("write larger than 4 GiB");
    RETURN_IF_ERROR(CheckRange(ptr, static_cast<uint32_t>(bytes.size())));
    if (!bytes.empty()) std::memcpy(ctx_.memory->data + ptr, bytes.data(), bytes.size());
    return OkStatus();
  }

  uint64_t memory_bytes() const override {
    return ctx_.memory == nullptr ? 0 : uint64_t{ctx_.memory->pages} * kWasmPageSize;
  }
  uint64_t peak_memory_bytes() const override { return entry_.peak_bytes; }

 private:
  void* instance() { return buffer_.data(); }

  Status CheckRange(uint32_t ptr, uint32_t len) const {
    if (ctx_.memory == nullptr) return InvalidArgument("the module exports no memory");
    if (uint64_t{ptr} + len > memory_bytes()) {
      return InvalidArgument("memory range [" + std::to_string(ptr) + ", " +
                             std::to_string(uint64_t{ptr} + len) + ") is outside the " +
                             std::to_string(memory_bytes()) + "-byte linear memory");
    }
    return OkStatus();
  }

  Status MissingExport(std::string_view name, std::string_view signature) const {
    std::string_view actual = module_->ExportSignature(name);
    if (actual.empty()) {
      return InvalidArgument("the module does not export a function \"" + std::string(name) + "\"");
    }
    return InvalidArgument("the module exports \"" + std::string(name) + "\" with signature " +
                           std::string(actual) + ", not " + std::string(signature));
  }

  Runtime& runtime_;
  std::shared_ptr<const AotModule> module_;
  InstanceOptions options_;
  std::unique_ptr<WasiCtx> wasi_;
  // Its address is baked into the instance at instantiation (host calls get
  // it as their first argument), so the instance object never moves.
  ExecContext ctx_;
  std::vector<std::max_align_t> buffer_;  // wasm2c's instance struct
  GuestEntry entry_;
  bool instantiated_ = false;
  TrapKind broken_ = TrapKind::kNone;
};

}  // namespace

Result<std::unique_ptr<Instance>> InstantiateAot(Runtime& runtime, const AotModule& module,
                                                 InstanceOptions options) {
  if (module.loaded().has_export("_start") && !module.loaded().has_export("_initialize")) {
    return InvalidArgument(
        "the module is a WASI command (it exports \"_start\"), not a reactor; build it with "
        "-mexec-model=reactor (C) or as a cdylib (Rust)");
  }
  if (Runtime::InsideGuestCall()) return NestedCall();
  auto instance =
      std::make_unique<AotInstance>(runtime, module.shared_from_this(), std::move(options));
  RETURN_IF_ERROR(instance->Start());
  return std::unique_ptr<Instance>(std::move(instance));
}

}  // namespace aether::wasm
