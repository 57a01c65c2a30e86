// The ahead-of-time engine: wasm -> C (wasm2c) -> shared object (tcc now,
// cc -O2 in the background) -> dlopen, with an on-disk cache keyed by the
// module's sha256 and the compiler's fingerprint, and an in-memory LRU.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <semaphore>
#include <thread>
#include <unordered_map>

#include "common/log.h"
#include "common/sha256.h"
#include "common/stage_times.h"
#include "wasm/engine.h"
#include "wasm/internal/aot_instance.h"
#include "wasm/internal/aot_module.h"
#include "wasm/internal/cache_trimmer.h"
#include "wasm/internal/compile_gate.h"
#include "wasm/internal/compiler.h"
#include "wasm/internal/glue.h"
#include "wasm/internal/module_cache.h"
#include "wasm/internal/runtime.h"
#include "wasm/internal/sandbox.h"
#include "wasm/internal/spare_keeper.h"
#include "wasm/wasi/wasi.h"

namespace aether::wasm {
namespace {

using ModulePtr = std::shared_ptr<const AotModule>;

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Compiles running at once (each a process of up to compile_memory_limit):
// a burst of deploys queues here instead of exhausting the node.
constexpr std::ptrdiff_t kMaxParallelCompiles = 4;

class AotEngine final : public Engine {
 public:
  explicit AotEngine(EngineOptions options)
      : options_(std::move(options)),
        runtime_(&registry_),
        cache_(options_.cache_dir),
        // Never in a directory that failed the cache's checks (another
        // user's): the trimmer removes files.
        trimmer_(options_.cache_dir, cache_.Ready().ok() ? options_.cache_disk_limit : 0),
        worker_(options_.compiler_worker.empty() ? DefaultWorkerPath() : options_.compiler_worker),
        cc_(ResolveCommand(options_.cc)),
        tcc_fingerprint_(TccFingerprint()),
        cc_fingerprint_(options_.optimize ? CcFingerprint(cc_) : cc_) {
    RegisterWasi(registry_);
    // Other ABIs' functions sit beside WASI; a module importing anything
    // else still fails Load with the import's name.
    for (const HostFunction& f : options_.host_functions) registry_.Add(f);
    for (const HostFunction* f : registry_.All()) {
      allowed_imports_.push_back({f->module, f->name, f->signature});
    }
    if (!cache_.Ready().ok()) LOG_ERROR("{}", cache_.Ready().message());
    if (options_.optimize) optimizer_ = std::thread([this] { OptimizerLoop(); });
    if (cache_.Ready().ok()) {
      // What an engine killed with -9 left there (a shared cache's other
      // engines hold theirs locked).
      JobDir::SweepAbandoned(cache_.jobs_dir());
      spares_ = std::make_unique<SpareKeeper>(worker_, cache_.jobs_dir(), options_.compile_limits);
    }
  }

  ~AotEngine() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (optimizer_.joinable()) optimizer_.join();
  }

  Result<std::shared_ptr<const Module>> Load(std::span<const uint8_t> wasm) override {
    return LoadTiers(wasm, /*optimize=*/true);
  }

  Result<std::shared_ptr<const Module>> Prepare(std::span<const uint8_t> wasm) override {
    return LoadTiers(wasm, /*optimize=*/false);
  }

  std::shared_ptr<const Module> Current(const std::shared_ptr<const Module>& module) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(module->sha256());
    if (it == entries_.end()) return module;
    return it->second.best;
  }

  Result<std::shared_ptr<const Module>> LoadTiers(std::span<const uint8_t> wasm, bool optimize) {
    std::string sha = Sha256Hex(wasm);
    std::shared_future<Result<ModulePtr>> pending;
    std::promise<Result<ModulePtr>> promise;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(sha);
      if (it != entries_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
        if (optimize) ScheduleOptimizeLocked(it->second, sha, wasm);
        return std::shared_ptr<const Module>(it->second.best);
      }
      auto f = loading_.find(sha);
      if (f != loading_.end()) {
        pending = f->second;
      } else {
        pending = promise.get_future().share();
        loading_.emplace(sha, pending);
        leader = true;
      }
    }
    if (leader) {
      Result<ModulePtr> r = LoadUncached(sha, wasm);
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Only once the entry exists: an optimized tier finished before it
        // would have nowhere to go, and the module would stay on the fast one.
        if (r.ok()) {
          Entry& e = Insert(sha, *r);
          if (optimize) ScheduleOptimizeLocked(e, sha, wasm);
        }
        loading_.erase(sha);
      }
      promise.set_value(r);
    }
    const Result<ModulePtr>& r = pending.get();
    if (!r.ok()) return r.status();
    if (optimize && !leader) {
      // Joined a Prepare's compile: it left the optimized tier to a Load.
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = entries_.find(sha); it != entries_.end()) {
        ScheduleOptimizeLocked(it->second, sha, wasm);
      }
    }
    return std::shared_ptr<const Module>(*r);
  }

  Result<RunResult> Run(const Module& module, const RunOptions& options) override {
    const auto& m = static_cast<const AotModule&>(module);
    if (!m.loaded().has_export("_start")) {
      // A workflow function answers no /execute: say which kind it is.
      if (m.FindExport("handle_cast_asm", "v:iiii") != nullptr ||
          m.FindExport("handle_call_asm", "i:iiiiii") != nullptr) {
        return InvalidArgument(
            "the module is a workflow function built with EDGELESS's SDK (it exports "
            "handle_cast_asm/handle_call_asm, not \"_start\"): use it in a workflow "
            "(docs/edgeless.md)");
      }
      if (m.FindExport("aether_alloc", "i:i") != nullptr) {
        return InvalidArgument(
            "the module is a workflow function (it exports aether_alloc, not \"_start\"): use it "
            "in a workflow (docs/workflows.md)");
      }
      return InvalidArgument("the module does not export \"_start\" (build it as a WASI command)");
    }
    if (Runtime::InsideGuestCall()) {
      return FailedPrecondition("cannot run a guest from inside another guest's host call");
    }
    std::unique_ptr<WasiCtx> wasi;
    if (m.uses_wasi()) {
      WasiOptions wo;
      wo.args = options.args;
      wo.env = options.env;
      wo.preopens = options.preopens;
      wo.inherit_stdio = options.inherit_stdio;
      wo.stdin_data = options.stdin_data;
      wo.max_output_bytes = options.max_output_bytes;
      ASSIGN_OR_RETURN(wasi, WasiCtx::Create(wo));
    }
    ExecContext ctx;
    ctx.wasi = wasi.get();

    // One zeroed instance buffer per thread, reused across executions.
    thread_local std::vector<std::max_align_t> instance_buf;
    size_t words =
        (m.loaded().instance_size() + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
    if (instance_buf.size() < words) instance_buf.resize(words);
    void* instance = instance_buf.data();
    std::memset(instance, 0, words * sizeof(std::max_align_t));

    RunResult result;
    auto t0 = std::chrono::steady_clock::now();
    uint64_t peak = 0;
    CallOutcome out =
        runtime_.InstantiateAndCall(m.loaded(), instance, &ctx, "_start", options.limits, &peak);
    runtime_.Free(m.loaded(), instance);
    result.exec_ms = MsSince(t0);
    result.peak_memory_bytes = peak;
    if (wasi != nullptr && !options.inherit_stdio) {
      result.stdout_data = std::move(wasi->stdout_data());
      result.stderr_data = std::move(wasi->stderr_data());
    }
    switch (out.kind) {
      case CallOutcome::kReturned:
        result.exit_code = 0;
        break;
      case CallOutcome::kExited:
        result.exit_code = wasi != nullptr ? static_cast<int>(wasi->exit_code()) : 0;
        break;
      case CallOutcome::kTrapped:
        result.trap = out.trap;
        break;
      case CallOutcome::kInitFailed:
        return ResourceExhausted("cannot instantiate the module: " + out.init_error);
    }
    return result;
  }

  Result<std::unique_ptr<Instance>> Instantiate(const Module& module,
                                                InstanceOptions options) override {
    return InstantiateAot(runtime_, static_cast<const AotModule&>(module), std::move(options));
  }

 private:
  struct Entry {
    ModulePtr best;
    std::list<std::string>::iterator lru_pos;
    bool optimize_queued = false;  // its optimized tier is queued or done
  };
  struct OptimizeJob {
    std::string sha;
    std::vector<uint8_t> wasm;
  };

  std::string CachePath(const std::string& sha, Tier tier) const {
    const std::string& fingerprint = tier == Tier::kFast ? tcc_fingerprint_ : cc_fingerprint_;
    std::string key = fingerprint + "|glue" + std::to_string(kGlueVersion) + "|abi" +
                      std::to_string(AETHER_ABI_VERSION);
    // Fast-tier objects cached before they were marked (elf_stack.h) would
    // make the stacks executable again: they are compiled anew.
    if (tier == Tier::kFast) key += "|nxstack";
    return options_.cache_dir + "/" + sha + "." + Sha256Hex(key).substr(0, 16) + "." +
           std::string(TierName(tier)) + ".so";
  }

  // Validates, translates and compiles `wasm` in the confined compiler
  // process, then publishes the object into the cache.
  // `st` gets the stages (common/stage_times.h).
  Result<VerifiedObject> CompileToCache(Tier tier, std::span<const uint8_t> wasm,
                                        const std::string& path, StageTimes& st) {
    RETURN_IF_ERROR(cache_.Ready());
    compile_slots_.acquire();
    struct Release {
      std::counting_semaphore<kMaxParallelCompiles>& s;
      ~Release() { s.release(); }
    } release{compile_slots_};
    st.Lap("slot");
    // A fast-tier compile is what a request waits for: background ones
    // (the optimized tier) stop meanwhile (compile_gate.h).
    std::optional<CompileGate::Urgent> urgent;
    std::optional<CompileGate::Background> background;
    if (tier != Tier::kFast) {
      background.emplace(gate_);
    } else {
      urgent.emplace(gate_);
      if (SpareKeeper::Lease spare = spares_ ? spares_->Take() : SpareKeeper::Lease()) {
        WorkerRequest q = Request(tier, wasm);
        st.Lap("jobdir");
        Result<ModuleInfo> info = spare->Run(q, &st);
        if (info.ok()) {
          Result<VerifiedObject> object =
              cache_.Publish(spare->job_dir() + "/" + q.out_name, path, *info);
          st.Lap("publish");
          if (object.ok()) trimmer_.Request();
          return object;
        }
        if (info.status().code() != Code::kUnavailable) return info.status();
        LOG_WARN("the spare compiler process ended early ({}); compiling in a new one",
                 info.status().message());
        st.Skip();
      }
    }
    ASSIGN_OR_RETURN(JobDir job, JobDir::Create(cache_.jobs_dir()));
    WorkerRequest q = Request(tier, wasm);
    st.Lap("jobdir");
    ASSIGN_OR_RETURN(ModuleInfo info,
                     RunWorker(worker_, q, job.path(), options_.compile_limits,
                               tier == Tier::kOptimized ? kBackgroundCompileNice : 0, &st,
                               background ? &*background : nullptr));
    Result<VerifiedObject> object = cache_.Publish(job.path() + "/" + q.out_name, path, info);
    st.Lap("publish");
    if (object.ok()) trimmer_.Request();
    return object;
  }

  WorkerRequest Request(Tier tier, std::span<const uint8_t> wasm) const {
    WorkerRequest q;
    q.mode = tier == Tier::kFast ? WorkerMode::kFast : WorkerMode::kOptimized;
    q.limits = options_.module_limits;
    q.check_imports = true;
    q.allowed_imports = allowed_imports_;
    q.cc = cc_;
    q.out_name = "module.so";
    q.wasm.assign(reinterpret_cast<const char*>(wasm.data()), wasm.size());
    return q;
  }

  Result<ModulePtr> Make(const std::string& sha, Tier tier, uint64_t size, VerifiedObject object) {
    RETURN_IF_ERROR(object.SamePathStill());
    ASSIGN_OR_RETURN(std::unique_ptr<LoadedModule> loaded,
                     runtime_.Load(object.path(), object.info()));
    return std::make_shared<const AotModule>(sha, tier, size, std::move(object.info()),
                                             std::move(loaded));
  }

  Result<ModulePtr> LoadUncached(const std::string& sha, std::span<const uint8_t> wasm) {
    auto t0 = std::chrono::steady_clock::now();
    StageTimes st;
    RETURN_IF_ERROR(cache_.Ready());
    for (Tier tier : {Tier::kOptimized, Tier::kFast}) {
      std::optional<VerifiedObject> cached = cache_.Find(CachePath(sha, tier));
      if (!cached) continue;
      Result<ModulePtr> m = Make(sha, tier, wasm.size(), std::move(*cached));
      if (m.ok()) {
        LOG_DEBUG("module {} loaded from disk cache ({} tier) in {:.2f} ms", sha.substr(0, 12),
                  TierName(tier), MsSince(t0));
        return m;
      }
      if (m.status().code() == Code::kInvalidArgument) return m.status();
      LOG_WARN("ignoring unusable cached module {}: {}", sha.substr(0, 12), m.status().message());
    }
    st.Lap("lookup");
    ASSIGN_OR_RETURN(VerifiedObject object,
                     CompileToCache(Tier::kFast, wasm, CachePath(sha, Tier::kFast), st));
    ASSIGN_OR_RETURN(ModulePtr m, Make(sha, Tier::kFast, wasm.size(), std::move(object)));
    st.Lap("dlopen");
    double compile_ms = MsSince(t0);
    if (DebugLogging()) {
      spdlog::debug("module {} compiled (fast tier, {} KB): {}", sha.substr(0, 12),
                    wasm.size() / 1024, st.Format());
    }
    if (options_.on_compiled) options_.on_compiled(sha, Tier::kFast, compile_ms, "");
    return m;
  }

  // Under mu_. The new entry (the LRU evicts others, never it).
  Entry& Insert(const std::string& sha, ModulePtr m) {
    lru_.push_front(sha);
    Entry& e = entries_[sha] = Entry{std::move(m), lru_.begin()};
    while (entries_.size() > options_.cache_size && lru_.size() > 1) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    return e;
  }

  // Under mu_: queues the optimized tier of a fast-tier entry, once.
  void ScheduleOptimizeLocked(Entry& e, const std::string& sha, std::span<const uint8_t> wasm) {
    if (!options_.optimize || e.optimize_queued || e.best->tier() != Tier::kFast) return;
    e.optimize_queued = true;
    jobs_.push_back({sha, std::vector<uint8_t>(wasm.begin(), wasm.end())});
    cv_.notify_one();
  }

  void OptimizerLoop() {
    for (;;) {
      OptimizeJob job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      auto t0 = std::chrono::steady_clock::now();
      Status st = Optimize(job);
      double ms = MsSince(t0);
      if (st.ok()) {
        LOG_INFO("module {} optimized tier ready in {:.0f} ms", job.sha.substr(0, 12), ms);
      } else {
        LOG_WARN("module {} optimized tier failed: {}", job.sha.substr(0, 12), st.message());
      }
      if (options_.on_compiled) {
        options_.on_compiled(job.sha, Tier::kOptimized, ms, st.ok() ? "" : st.message());
      }
    }
  }

  Status Optimize(const OptimizeJob& job) {
    StageTimes st;
    std::string path = CachePath(job.sha, Tier::kOptimized);
    std::optional<VerifiedObject> object = cache_.Find(path);
    st.Lap("lookup");
    if (!object) {
      ASSIGN_OR_RETURN(VerifiedObject compiled,
                       CompileToCache(Tier::kOptimized, job.wasm, path, st));
      object.emplace(std::move(compiled));
    }
    ASSIGN_OR_RETURN(ModulePtr m,
                     Make(job.sha, Tier::kOptimized, job.wasm.size(), std::move(*object)));
    st.Lap("dlopen");
    if (DebugLogging()) {
      spdlog::debug("module {} compiled (optimized tier): {}", job.sha.substr(0, 12), st.Format());
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(job.sha);
    if (it != entries_.end()) it->second.best = std::move(m);
    return OkStatus();
  }

  EngineOptions options_;
  HostRegistry registry_;
  Runtime runtime_;
  ModuleCache cache_;
  CacheTrimmer trimmer_;
  const std::string worker_;
  const std::string cc_;  // options_.cc, resolved on this process's PATH
  const std::string tcc_fingerprint_;
  const std::string cc_fingerprint_;
  std::vector<FuncImportInfo> allowed_imports_;
  std::counting_semaphore<kMaxParallelCompiles> compile_slots_{kMaxParallelCompiles};
  CompileGate gate_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, std::shared_future<Result<ModulePtr>>> loading_;
  std::deque<OptimizeJob> jobs_;
  bool stopping_ = false;
  std::thread optimizer_;

  std::unique_ptr<SpareKeeper> spares_;  // null when the cache is unusable
};

}  // namespace

std::unique_ptr<Engine> NewAotEngine(EngineOptions options) {
  return std::make_unique<AotEngine>(std::move(options));
}

}  // namespace aether::wasm
