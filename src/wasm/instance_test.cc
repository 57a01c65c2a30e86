// Long-lived instances (Engine::Instantiate): state across calls, typed
// calls, traps and timeouts breaking an instance, limits for the instance's
// life, host functions with per-instance data, output, and teardown.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/sanitizers.h"
#include "wasm/engine.h"
#include "wasm/test_support.h"

namespace aether::wasm {
namespace {

using testing::OnGuestThread;
using testing::ReadGuest;

// What the test host function sees of the instance that calls it.
struct TestHost {
  uint32_t base = 0;
  std::string seen;
  Instance* reenter = nullptr;  // record() tries to call into it
  Code reenter_code = Code::kOk;
  Instance* from_host = nullptr;  // record() calls its "bump" with CallFromHost
  Result<InstanceCall> from_host_result = InstanceCall{};
};

// aether_test.record(ptr, len) -> base + len: copies the guest's bytes into
// the calling instance's TestHost (ExecContext::extension). Out-of-bounds
// pointers and calls without an instance trap, like the workflow ABI.
uint32_t Record(void* vctx, uint32_t ptr, uint32_t len) {
  auto* ctx = static_cast<ExecContext*>(vctx);
  auto* host = static_cast<TestHost*>(ctx->extension);
  const uint8_t* p = GuestPtr(ctx, ptr, len);
  if (host == nullptr || p == nullptr) {
    ctx->hdr.unwind = AETHER_UNWIND_TRAP;
    return 0;
  }
  host->seen.assign(reinterpret_cast<const char*>(p), len);
  if (host->reenter != nullptr) {
    host->reenter_code = host->reenter->Call("incr", "i:", {}).status().code();
  }
  if (host->from_host != nullptr)
    host->from_host_result = host->from_host->CallFromHost("bump", "i:", {});
  return host->base + len;
}

uint64_t ResidentBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

class InstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_dir_ = std::filesystem::temp_directory_path() /
                 ("aether-instance-test-" + std::to_string(getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    EngineOptions o;
    o.cache_dir = cache_dir_.string();
    o.optimize = false;
    o.host_functions.push_back(
        HostFunction{"aether_test", "record", "i:ii", reinterpret_cast<void*>(&Record)});
    engine_ = NewAotEngine(std::move(o));
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(cache_dir_);
  }

  std::shared_ptr<const Module> Load(const std::string& guest) {
    auto m = engine_->Load(ReadGuest(guest));
    EXPECT_TRUE(m.ok()) << guest << ": " << m.status().ToString();
    return m.ok() ? *m : nullptr;
  }

  // Instantiates on the calling thread, which must be a GuestThread.
  std::unique_ptr<Instance> New(const std::string& guest, InstanceOptions o = {}) {
    auto m = Load(guest);
    if (!m) return nullptr;
    if (o.args.empty()) o.args = {guest};
    auto inst = engine_->Instantiate(*m, std::move(o));
    EXPECT_TRUE(inst.ok()) << inst.status().ToString();
    return inst.ok() ? std::move(inst).value() : nullptr;
  }

  static uint64_t Value(Instance& inst, std::string_view name, std::string_view sig,
                        std::vector<uint64_t> args = {}) {
    auto r = inst.Call(name, sig, args);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    if (!r.ok()) return ~0ull;
    EXPECT_EQ(r->trap, TrapKind::kNone) << name << ": " << TrapName(r->trap);
    return r->value;
  }

  std::filesystem::path cache_dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(InstanceTest, MemoryAndGlobalsPersistAcrossCalls) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    EXPECT_EQ(Value(*inst, "ctor_ran", "i:"), 42u) << "_initialize ran at instantiation";
    for (uint64_t i = 1; i <= 1000; ++i) {
      auto r = inst->Call("incr", "i:", {});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->value, i);
    }
    EXPECT_GT(inst->memory_bytes(), 0u);
    EXPECT_GE(inst->peak_memory_bytes(), inst->memory_bytes());
  });
}

TEST_F(InstanceTest, TypedArgumentsAndResults) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    EXPECT_EQ(Value(*inst, "add", "i:ii", {40, 2}), 42u);
    // i32 results are zero-extended; i32 arguments are truncated to 32 bits.
    EXPECT_EQ(Value(*inst, "add", "i:ii", {0xffffffffu, 0}), 0xffffffffu);
    EXPECT_EQ(Value(*inst, "add", "i:ii", {(7ull << 32) | 5, 1}), 6u);
    EXPECT_EQ(Value(*inst, "wide", "I:ii", {0x12345678, 0x9abcdef0}), 0x123456789abcdef0ull);
    EXPECT_EQ(Value(*inst, "take64", "I:I", {0x100000000ull}), 0x100000001ull);
    EXPECT_EQ(Value(*inst, "noop", "v:"), 0u);
  });
}

TEST_F(InstanceTest, ExportLookupAndArgumentErrors) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    EXPECT_TRUE(inst->HasExport("add", "i:ii"));
    EXPECT_TRUE(inst->HasExport("noop", "v:"));
    EXPECT_FALSE(inst->HasExport("add", "i:i"));
    EXPECT_FALSE(inst->HasExport("handle_cast", "v:iiii"));
    EXPECT_FALSE(inst->HasExport("memory", "v:"));

    auto missing = inst->Call("handle_cast", "v:iiii", std::vector<uint64_t>{1, 2, 3, 4});
    EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
    EXPECT_NE(missing.status().message().find("handle_cast"), std::string::npos);
    auto wrong = inst->Call("add", "I:ii", std::vector<uint64_t>{1, 2});
    EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
    EXPECT_NE(wrong.status().message().find("i:ii"), std::string::npos) << wrong.status().message();
    auto arity = inst->Call("add", "i:ii", std::vector<uint64_t>{1});
    EXPECT_EQ(arity.status().code(), Code::kInvalidArgument);
    // Errors before the guest runs do not break the instance.
    EXPECT_EQ(Value(*inst, "incr", "i:"), 1u);
  });
}

TEST_F(InstanceTest, CallsAlternateBetweenTwoGuestThreads) {
  std::unique_ptr<Instance> inst;
  OnGuestThread([&] { inst = New("instance_counter"); });
  ASSERT_TRUE(inst);
  constexpr int kCallsEach = 200;
  std::atomic<int> turn{0};
  std::atomic<int> failures{0};
  auto worker = [&](int me) {
    return [&, me] {
      for (int i = 0; i < kCallsEach; ++i) {
        while (turn.load(std::memory_order_acquire) != me) std::this_thread::yield();
        auto r = inst->Call("incr", "i:", {});
        // The counter proves both threads see one memory, in order.
        if (!r.ok() || r->trap != TrapKind::kNone || r->value != uint64_t(2 * i + me + 1)) {
          failures.fetch_add(1);
        }
        turn.store(1 - me, std::memory_order_release);
      }
    };
  };
  {
    GuestThread a(worker(0));
    GuestThread b(worker(1));
  }
  EXPECT_EQ(failures.load(), 0);
  inst.reset();  // on the test's main thread, which never ran a guest
}

TEST_F(InstanceTest, TrapBreaksTheInstance) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    EXPECT_EQ(Value(*inst, "incr", "i:"), 1u);
    auto r = inst->Call("crash", "v:", {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->trap, TrapKind::kUnreachable);
    auto again = inst->Call("incr", "i:", {});
    EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(again.status().message().find("unreachable"), std::string::npos)
        << again.status().message();
    // A fresh instance of the same module starts from scratch.
    auto other = New("instance_counter");
    ASSERT_TRUE(other);
    EXPECT_EQ(Value(*other, "incr", "i:"), 1u);
  });
}

TEST_F(InstanceTest, TimeoutBreaksTheInstanceAndTheThreadStaysUsable) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    auto t0 = std::chrono::steady_clock::now();
    auto r = inst->Call("spin", "v:", {}, std::chrono::milliseconds(50));
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->trap, TrapKind::kTimeout);
    EXPECT_LT(took, std::chrono::seconds(2));
    EXPECT_EQ(inst->Call("incr", "i:", {}).status().code(), Code::kFailedPrecondition);
    // The default timeout comes from the instance's limits.
    InstanceOptions o;
    o.limits.timeout = std::chrono::milliseconds(30);
    auto short_lived = New("instance_counter", o);
    ASSERT_TRUE(short_lived);
    auto r2 = short_lived->Call("spin", "v:", {});
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->trap, TrapKind::kTimeout);
    // A deadline that already passed times out at once.
    auto late = New("instance_counter");
    ASSERT_TRUE(late);
    auto r3 = late->Call("spin", "v:", {}, std::chrono::milliseconds(-1));
    ASSERT_TRUE(r3.ok());
    EXPECT_EQ(r3->trap, TrapKind::kTimeout);
    // Later calls on this thread run normally (the watchdog was disarmed).
    auto fresh = New("instance_counter");
    ASSERT_TRUE(fresh);
    for (int i = 1; i <= 3; ++i) EXPECT_EQ(Value(*fresh, "incr", "i:"), uint64_t(i));
  });
}

TEST_F(InstanceTest, ProcExitInACallIsAHostErrorTrap) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    auto r = inst->Call("quit", "v:", {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->trap, TrapKind::kHostError);
    EXPECT_EQ(inst->Call("incr", "i:", {}).status().code(), Code::kFailedPrecondition);
  });
}

TEST_F(InstanceTest, MemoryLimitHoldsAcrossGrows) {
  OnGuestThread([&] {
    InstanceOptions o;
    o.limits.memory_bytes = 4ull << 20;
    auto inst = New("instance_counter", o);
    ASSERT_TRUE(inst);
    int granted = 0;
    for (int i = 0; i < 10; ++i) granted += static_cast<int>(Value(*inst, "grow", "i:i", {1}));
    EXPECT_GE(granted, 1);
    EXPECT_LE(granted, 3) << "4 MiB minus the stack and data cannot hold 4 more MiB";
    EXPECT_LE(inst->memory_bytes(), 4ull << 20);
    EXPECT_LE(inst->peak_memory_bytes(), 4ull << 20);
    EXPECT_EQ(Value(*inst, "incr", "i:"), 1u) << "a refused grow does not break the instance";
  });
}

TEST_F(InstanceTest, InitialMemoryOverTheLimitIsResourceExhausted) {
  OnGuestThread([&] {
    auto m = Load("instance_counter");
    ASSERT_TRUE(m);
    InstanceOptions o;
    o.limits.memory_bytes = 64 * 1024;
    auto inst = engine_->Instantiate(*m, o);
    EXPECT_EQ(inst.status().code(), Code::kResourceExhausted) << inst.status().ToString();
  });
}

TEST_F(InstanceTest, TrapInInitializeIsFailedPrecondition) {
  OnGuestThread([&] {
    auto m = Load("instance_init_trap");
    ASSERT_TRUE(m);
    auto inst = engine_->Instantiate(*m, {});
    EXPECT_EQ(inst.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(inst.status().message().find("unreachable"), std::string::npos)
        << inst.status().message();
  });
}

TEST_F(InstanceTest, CommandModulesAreRefused) {
  OnGuestThread([&] {
    auto m = Load("hello");
    ASSERT_TRUE(m);
    auto inst = engine_->Instantiate(*m, {});
    EXPECT_EQ(inst.status().code(), Code::kInvalidArgument);
    EXPECT_NE(inst.status().message().find("_start"), std::string::npos);
  });
}

TEST_F(InstanceTest, ReadAndWriteMemoryAreBoundsChecked) {
  OnGuestThread([&] {
    auto inst = New("instance_counter");
    ASSERT_TRUE(inst);
    auto ptr = static_cast<uint32_t>(Value(*inst, "alloc", "i:i", {16}));
    ASSERT_NE(ptr, 0u);
    ASSERT_TRUE(inst->WriteMemory(ptr, "abc").ok());
    EXPECT_EQ(Value(*inst, "sum", "i:ii", {ptr, 3}), uint64_t('a' + 'b' + 'c'));
    auto back = inst->ReadMemory(ptr, 3);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, "abc");
    auto size = static_cast<uint32_t>(inst->memory_bytes());
    EXPECT_TRUE(inst->ReadMemory(size - 1, 1).ok());
    EXPECT_EQ(inst->ReadMemory(size - 1, 2).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(inst->ReadMemory(0xffffffffu, 0xffffffffu).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(inst->WriteMemory(size - 2, "xyz").code(), Code::kInvalidArgument);
  });
}

TEST_F(InstanceTest, HostFunctionsSeeTheInstanceDataAndMemory) {
  OnGuestThread([&] {
    TestHost a{100, ""};
    TestHost b{200, ""};
    InstanceOptions oa;
    oa.host_data = &a;
    InstanceOptions ob;
    ob.host_data = &b;
    auto ia = New("instance_host", oa);
    auto ib = New("instance_host", ob);
    ASSERT_TRUE(ia && ib);
    EXPECT_EQ(Value(*ia, "run", "i:"), 104u);
    EXPECT_EQ(Value(*ib, "run", "i:"), 204u);
    EXPECT_EQ(a.seen, "ping");
    EXPECT_EQ(b.seen, "ping");
    // A host function that reports a trap breaks the instance.
    auto r = ia->Call("bad", "i:", {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->trap, TrapKind::kHostError);
    EXPECT_EQ(ia->Call("run", "i:", {}).status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(Value(*ib, "run", "i:"), 204u) << "other instances are unaffected";
  });
}

TEST_F(InstanceTest, HostFunctionsCannotReenterAGuestOnTheSameThread) {
  OnGuestThread([&] {
    auto target = New("instance_counter");
    ASSERT_TRUE(target);
    TestHost host{0, ""};
    host.reenter = target.get();
    InstanceOptions o;
    o.host_data = &host;
    auto caller = New("instance_host", o);
    ASSERT_TRUE(caller);
    EXPECT_EQ(Value(*caller, "run", "i:"), 4u) << "the caller goes on";
    EXPECT_EQ(host.reenter_code, Code::kFailedPrecondition);
    EXPECT_EQ(Value(*target, "incr", "i:"), 1u) << "the target was neither run nor broken";
    EXPECT_EQ(Value(*caller, "run", "i:"), 4u);
  });
}

TEST_F(InstanceTest, AHostFunctionMayCallItsOwnInstanceOnly) {
  OnGuestThread([&] {
    TestHost host{0, ""};
    InstanceOptions o;
    o.host_data = &host;
    auto caller = New("instance_host", o);
    auto other = New("instance_host");
    ASSERT_TRUE(caller && other);
    // Outside any host call: refused.
    EXPECT_EQ(caller->CallFromHost("bump", "i:", {}).status().code(), Code::kFailedPrecondition);
    // Inside the caller's own host call: runs, the state persists.
    host.from_host = caller.get();
    EXPECT_EQ(Value(*caller, "run", "i:"), 4u);
    ASSERT_TRUE(host.from_host_result.ok()) << host.from_host_result.status().ToString();
    EXPECT_EQ(host.from_host_result->value, 1u);
    EXPECT_EQ(Value(*caller, "bump", "i:"), 2u);
    // Another instance from inside the caller's host call: refused, unharmed.
    host.from_host = other.get();
    EXPECT_EQ(Value(*caller, "run", "i:"), 4u);
    EXPECT_EQ(host.from_host_result.status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(Value(*other, "bump", "i:"), 1u);
  });
}

TEST_F(InstanceTest, UnknownImportStillFailsLoad) {
  EngineOptions o;
  o.cache_dir = cache_dir_.string() + "-plain";
  o.optimize = false;
  auto plain = NewAotEngine(o);  // no aether_test functions
  auto m = plain->Load(ReadGuest("instance_host"));
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "module imports aether_test.record, which Aether does not provide");
  plain.reset();
  std::filesystem::remove_all(o.cache_dir);
}

TEST_F(InstanceTest, OutputGoesToTheCallbackAsWritten) {
  OnGuestThread([&] {
    std::vector<std::pair<int, std::string>> out;
    InstanceOptions o;
    o.on_output = [&](int fd, std::string_view bytes) { out.emplace_back(fd, bytes); };
    auto inst = New("instance_counter", o);
    ASSERT_TRUE(inst);
    Value(*inst, "say", "v:i", {7});
    Value(*inst, "say", "v:i", {8});
    std::string stdout_text, stderr_text;
    for (const auto& [fd, bytes] : out) (fd == 1 ? stdout_text : stderr_text) += bytes;
    EXPECT_EQ(stdout_text, "hello 7\nhello 8\n");
    EXPECT_EQ(stderr_text, "err 7\nerr 8\n");
    // Without a callback the bytes are dropped, and writing still succeeds.
    auto quiet = New("instance_counter");
    ASSERT_TRUE(quiet);
    for (int i = 0; i < 1000; ++i) Value(*quiet, "say", "v:i", {uint64_t(i)});
  });
}

TEST_F(InstanceTest, AThousandInstancesLiveAtOnceAndGiveTheirMemoryBack) {
  // ASan keeps freed memory in its quarantine (256 MB by default) and never
  // gives its heap back, so RSS measures ASan here; LeakSanitizer checks
  // the same thing in that build (docs/sanitizers.md).
  if (AETHER_ASAN) GTEST_SKIP() << "RSS is not meaningful under AddressSanitizer";
  uint64_t alive = 0;
  auto round = [&] {
    std::vector<std::unique_ptr<Instance>> all;
    OnGuestThread([&] {
      for (int i = 0; i < 1000; ++i) {
        auto inst = New("instance_counter");
        ASSERT_TRUE(inst);
        ASSERT_EQ(Value(*inst, "incr", "i:"), 1u);
        all.push_back(std::move(inst));
      }
      // Each keeps its own memory.
      for (auto& inst : all) ASSERT_EQ(Value(*inst, "incr", "i:"), 2u);
    });
    EXPECT_EQ(all.size(), 1000u);
    alive = ResidentBytes();
    all.clear();  // destroyed on a thread that never ran a guest
  };
  round();  // warm-up: module load, pool and allocator caches
  uint64_t before = ResidentBytes();
  round();
  round();
  uint64_t after = ResidentBytes();
  std::printf("RSS: %llu KiB idle, %llu KiB with 1000 instances, %llu KiB after\n",
              static_cast<unsigned long long>(before >> 10),
              static_cast<unsigned long long>(alive >> 10),
              static_cast<unsigned long long>(after >> 10));
  EXPECT_LT(after, before + (16ull << 20)) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace aether::wasm
