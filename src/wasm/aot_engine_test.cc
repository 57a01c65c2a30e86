#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "common/sanitizers.h"
#include "wasm/engine.h"
#include "wasm/test_support.h"
#include "wasm/validate.h"

namespace aether::wasm {
namespace {

using testing::OnGuestThread;
using testing::ReadGuest;

// (module (import "env" "foo" (func)) (func (export "_start") call 0))
const std::vector<uint8_t> kUnknownImport = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00,
    0x00, 0x02, 0x0b, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x03, 0x66, 0x6f, 0x6f, 0x00,
    0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0a, 0x01, 0x06, 0x5f, 0x73, 0x74, 0x61,
    0x72, 0x74, 0x00, 0x01, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0b};
// (module (memory (export "memory") 1) (func (export "not_start")))
const std::vector<uint8_t> kNoStart = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x16, 0x02, 0x06, 0x6d,
    0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x09, 0x6e, 0x6f, 0x74, 0x5f, 0x73, 0x74,
    0x61, 0x72, 0x74, 0x00, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
// (module (import "wasi_snapshot_preview1" "fd_write" (func (param i64))) ...)
const std::vector<uint8_t> kWrongSignature = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60, 0x01, 0x7e, 0x00, 0x60,
    0x00, 0x00, 0x02, 0x23, 0x01, 0x16, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61, 0x70, 0x73,
    0x68, 0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x31, 0x08, 0x66, 0x64, 0x5f,
    0x77, 0x72, 0x69, 0x74, 0x65, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01, 0x07, 0x0a, 0x01, 0x06, 0x5f,
    0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x01, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
// (module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))
const std::vector<uint8_t> kPureLoop = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x13, 0x02, 0x06, 0x6d,
    0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74,
    0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b};

bool ValidateModuleOk(const std::vector<uint8_t>& wasm) { return ValidateModule(wasm).ok(); }

class AotEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_dir_ = std::filesystem::temp_directory_path() /
                 ("aether-wasm-test-" + std::to_string(getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    engine_ = NewEngine(/*optimize=*/false);
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(cache_dir_);
  }
  std::unique_ptr<Engine> NewEngine(bool optimize) {
    EngineOptions o;
    o.cache_dir = cache_dir_.string();
    o.optimize = optimize;
    return NewAotEngine(o);
  }

  std::shared_ptr<const Module> Load(const std::string& guest) {
    auto m = engine_->Load(ReadGuest(guest));
    EXPECT_TRUE(m.ok()) << guest << ": " << m.status().ToString();
    return m.ok() ? *m : nullptr;
  }

  RunResult Run(const std::string& guest, std::string_view input = "", RunOptions o = {}) {
    RunResult out;
    OnGuestThread([&] {
      auto m = Load(guest);
      if (!m) return;
      o.stdin_data = input;
      if (o.args.empty()) o.args = {guest};
      auto r = engine_->Run(*m, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      out = std::move(r).value();
    });
    return out;
  }

  std::filesystem::path cache_dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(AotEngineTest, HelloWritesStdout) {
  RunResult r = Run("hello");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.trap, TrapKind::kNone);
  EXPECT_EQ(r.stdout_data, "Hello, World!\n");
  EXPECT_GT(r.peak_memory_bytes, 0u);
  EXPECT_GT(r.exec_ms, 0.0);
}

TEST_F(AotEngineTest, EchoCopiesStdinIncludingBinary) {
  std::string input("a\0b\xff\n", 5);
  EXPECT_EQ(Run("echo", input).stdout_data, input);
  std::string big(300000, 'x');
  EXPECT_EQ(Run("echo", big).stdout_data, big);
}

TEST_F(AotEngineTest, EnvAndArgs) {
  RunOptions o;
  o.args = {"my-fn"};
  o.env = {"GREETING=hi there"};
  EXPECT_EQ(Run("env", "", o).stdout_data, "GREETING=hi there\nargv0=my-fn\n");
}

TEST_F(AotEngineTest, ExitCodeAndStderr) {
  RunResult r = Run("fail_stderr");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.stderr_data.find("something went wrong"), std::string::npos);
  EXPECT_EQ(Run("exit_code", "42").exit_code, 42);
  EXPECT_EQ(Run("exit_code", "0").exit_code, 0);
}

TEST_F(AotEngineTest, EveryTrapKind) {
  EXPECT_EQ(Run("trap_unreachable").trap, TrapKind::kUnreachable);
  EXPECT_EQ(Run("trap_div_zero").trap, TrapKind::kDivideByZero);
  EXPECT_EQ(Run("trap_int_overflow").trap, TrapKind::kIntegerOverflow);
  EXPECT_EQ(Run("trap_conversion").trap, TrapKind::kInvalidConversion);
  EXPECT_EQ(Run("trap_oob").trap, TrapKind::kOutOfBounds);
  EXPECT_EQ(Run("trap_indirect").trap, TrapKind::kIndirectCallMismatch);
  EXPECT_EQ(Run("stack_overflow").trap, TrapKind::kStackExhausted);
  // The process keeps working after every kind of trap.
  EXPECT_EQ(Run("hello").stdout_data, "Hello, World!\n");
}

TEST_F(AotEngineTest, BoundedRecursionIsFine) {
  RunResult r = Run("stack_overflow", "1000");
  EXPECT_EQ(r.trap, TrapKind::kNone);
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(AotEngineTest, MemoryLimitOnInstantiate) {
  OnGuestThread([&] {
    auto m = Load("big_init");
    ASSERT_TRUE(m);
    RunOptions o;
    o.limits.memory_bytes = 16ull << 20;
    auto r = engine_->Run(*m, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
    EXPECT_NE(r.status().message().find("exceeds the memory limit"), std::string::npos);
    o.limits.memory_bytes = 128ull << 20;
    auto ok = engine_->Run(*m, o);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->stdout_data, "64\n");
  });
}

TEST_F(AotEngineTest, MemoryLimitOnGrow) {
  RunOptions o;
  o.limits.memory_bytes = 16ull << 20;
  RunResult fail = Run("grow", "32", o);
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_LE(fail.peak_memory_bytes, 16ull << 20);
  RunResult ok = Run("grow", "4", o);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.stdout_data, "4\n");
  EXPECT_GE(ok.peak_memory_bytes, 4ull << 20);
}

TEST_F(AotEngineTest, TimeoutInterruptsGuestCode) {
  RunOptions o;
  o.limits.timeout = std::chrono::milliseconds(200);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Run("spin", "", o).trap, TrapKind::kTimeout);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  OnGuestThread([&] {
    auto m = engine_->Load(kPureLoop);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto r = engine_->Run(**m, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->trap, TrapKind::kTimeout);
  });
}

TEST_F(AotEngineTest, TimeoutInterruptsBlockingHostCall) {
  RunOptions o;
  o.limits.timeout = std::chrono::milliseconds(200);
  auto t0 = std::chrono::steady_clock::now();
  // The guest asks to sleep 30 s: under 10 s, only the 200 ms timeout can
  // have ended it, however busy the machine.
  EXPECT_EQ(Run("sleep", "30000", o).trap, TrapKind::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(Run("sleep", "10").stdout_data, "slept 10\n");
}

TEST_F(AotEngineTest, FreshMemoryEveryExecution) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Run("counter").stdout_data, "1\n");
    EXPECT_EQ(Run("leak_probe").stdout_data, "clean\n") << "run " << i;
    EXPECT_EQ(Run("leak_probe", "small").stdout_data, "clean\n") << "run " << i;
  }
}

// tcc writes no PT_GNU_STACK header, and for such an object glibc's dlopen
// made every thread stack of the process (the engine's) executable. The
// compiler marks each object: loading one leaves no writable and
// executable mapping.
TEST_F(AotEngineTest, LoadingAFastTierModuleLeavesNoExecutableMemory) {
  RunResult r = Run("hello");
  EXPECT_EQ(r.trap, TrapKind::kNone);
  std::ifstream maps("/proc/self/maps");
  std::string line, rwx;
  while (std::getline(maps, line)) {
    if (line.find(" rwxp ") != std::string::npos) rwx += line + "\n";
  }
  EXPECT_EQ(rwx, "") << "writable and executable mappings after loading a fast-tier module";
}

TEST_F(AotEngineTest, InvalidModulesNameTheProblem) {
  auto garbage = engine_->Load(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), Code::kInvalidArgument);
  EXPECT_NE(garbage.status().message().find("not a WebAssembly binary"), std::string::npos);

  std::vector<uint8_t> truncated = ReadGuest("hello");
  truncated.resize(truncated.size() / 2);
  auto t = engine_->Load(truncated);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("invalid module"), std::string::npos);

  // A component (what `cargo component` and Spin build) is named as one,
  // with what to build instead; wabt alone said "bad wasm file version".
  auto component = engine_->Load(std::vector<uint8_t>{0, 'a', 's', 'm', 0x0d, 0, 1, 0, 0, 0});
  ASSERT_FALSE(component.ok());
  EXPECT_NE(component.status().message().find("this is a WebAssembly component"), std::string::npos)
      << component.status().message();
  EXPECT_NE(component.status().message().find("wasm32-wasip1"), std::string::npos);
  auto v2 = engine_->Load(std::vector<uint8_t>{0, 'a', 's', 'm', 2, 0, 0, 0});
  ASSERT_FALSE(v2.ok());
  EXPECT_EQ(v2.status().message(),
            "invalid module: WebAssembly binary version 2 is not supported (Aether runs "
            "version 1 core modules)");

  auto imp = engine_->Load(kUnknownImport);
  ASSERT_FALSE(imp.ok());
  EXPECT_NE(imp.status().message().find("env.foo"), std::string::npos);

  auto sig = engine_->Load(kWrongSignature);
  ASSERT_FALSE(sig.ok());
  EXPECT_NE(sig.status().message().find("signature"), std::string::npos);

  OnGuestThread([&] {
    auto m = engine_->Load(kNoStart);
    ASSERT_TRUE(m.ok());
    auto r = engine_->Run(**m, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("_start"), std::string::npos);
  });
}

TEST_F(AotEngineTest, ModuleThatCrashesTheValidatorIsRejected) {
  // libwabt 1.0.32 aborts on this module (found by translate_fuzz); the
  // engine must reject it and live on.
  std::ifstream in(
      std::string(AETHER_SOURCE_DIR) + "/fuzz/repro/translate_fuzz/wabt_end_expr_assert.wasm",
      std::ios::binary);
  std::vector<uint8_t> bad{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_FALSE(bad.empty());
  auto m = engine_->Load(bad);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("crashed on the module"), std::string::npos);
  EXPECT_FALSE(ValidateModuleOk(bad));
  EXPECT_EQ(Run("hello").stdout_data, "Hello, World!\n");
}

TEST_F(AotEngineTest, ConcurrentExecutions) {
  auto m = Load("echo");
  ASSERT_TRUE(m);
  std::atomic<int> ok{0};
  std::vector<std::unique_ptr<GuestThread>> threads;
  for (int t = 0; t < 4; ++t) {
    threads.push_back(std::make_unique<GuestThread>([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string in = "thread " + std::to_string(t) + " run " + std::to_string(i);
        RunOptions o;
        o.stdin_data = in;
        auto r = engine_->Run(*m, o);
        if (r.ok() && r->stdout_data == in) ok.fetch_add(1);
      }
    }));
  }
  threads.clear();
  EXPECT_EQ(ok.load(), 800);
}

TEST_F(AotEngineTest, DiskCacheServesARestartedEngine) {
  Load("fib");
  // A cache hit only dlopens, no compile: the restarted engine has no
  // compiler process to start, and still loads fib.
  EngineOptions o;
  o.cache_dir = cache_dir_.string();
  o.optimize = false;
  o.compiler_worker = (cache_dir_ / "no-such-compiler").string();
  engine_ = NewAotEngine(o);
  auto m = Load("fib");
  ASSERT_TRUE(m);
  EXPECT_EQ(Run("fib", "20").stdout_data, "6765\n");
  // The same engine, asked for a module it has not compiled, needs one.
  EXPECT_FALSE(engine_->Load(ReadGuest("hello")).ok());
}

TEST_F(AotEngineTest, OptimizedTierTakesOver) {
  engine_ = NewEngine(true);
  auto m = Load("fib");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->tier(), Tier::kFast);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (engine_->Current(m)->tier() != Tier::kOptimized &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto opt = engine_->Current(m);
  ASSERT_EQ(opt->tier(), Tier::kOptimized);
  EXPECT_EQ(opt->sha256(), m->sha256());
  OnGuestThread([&] {
    RunOptions o;
    o.stdin_data = "25";
    auto r = engine_->Run(*opt, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stdout_data, "75025\n");
    // Traps work the same in optimized code.
  });
  RunResult trap = Run("trap_oob");
  EXPECT_EQ(trap.trap, TrapKind::kOutOfBounds);
}

// A prefetch (Prepare) compiles only the fast tier: a module whose deploy
// is then refused costs no gcc. The first Load asks for the optimized tier,
// once, whether it finds the module loaded or joins the compile.
TEST_F(AotEngineTest, PrepareLeavesTheOptimizedTierToTheFirstLoad) {
  std::mutex mu;
  std::vector<std::pair<std::string, Tier>> compiled;
  EngineOptions o;
  o.cache_dir = cache_dir_.string();
  o.on_compiled = [&](const std::string& sha, Tier tier, double, const std::string& error) {
    EXPECT_EQ(error, "");
    std::lock_guard lock(mu);
    compiled.emplace_back(sha, tier);
  };
  engine_ = NewAotEngine(o);
  auto count = [&](Tier tier) {
    std::lock_guard lock(mu);
    return std::count_if(compiled.begin(), compiled.end(),
                         [&](const auto& c) { return c.second == tier; });
  };
  auto prepared = engine_->Prepare(ReadGuest("fib"));
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  EXPECT_EQ((*prepared)->tier(), Tier::kFast);
  EXPECT_EQ(count(Tier::kFast), 1);
  ASSERT_TRUE(engine_->Prepare(ReadGuest("fib")).ok());  // loaded already: nothing new
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(count(Tier::kOptimized), 0);
  EXPECT_EQ(engine_->Current(*prepared)->tier(), Tier::kFast);

  auto m = Load("fib");
  ASSERT_TRUE(m);
  EXPECT_EQ(count(Tier::kFast), 1);  // no second compile
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count(Tier::kOptimized) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(count(Tier::kOptimized), 1);
  EXPECT_EQ(engine_->Current(m)->tier(), Tier::kOptimized);
  Load("fib");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count(Tier::kOptimized), 1);  // once

  // A Load that joins a Prepare's compile (or the other way round).
  std::thread prepare([&] { EXPECT_TRUE(engine_->Prepare(ReadGuest("hello")).ok()); });
  auto hello = Load("hello");
  prepare.join();
  ASSERT_TRUE(hello);
  EXPECT_EQ(count(Tier::kFast), 2);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count(Tier::kOptimized) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(count(Tier::kOptimized), 2);
  engine_.reset();  // joins the optimizer before `compiled` goes
}

long RssKb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST_F(AotEngineTest, ManyExecutionsKeepRssFlat) {
  // ASan keeps freed memory in its quarantine (256 MB by default) and never
  // gives its heap back, so RSS measures ASan here; LeakSanitizer checks
  // the same thing in that build (docs/sanitizers.md).
  if (AETHER_ASAN) GTEST_SKIP() << "RSS is not meaningful under AddressSanitizer";
  OnGuestThread([&] {
    auto hello = Load("hello");
    auto grow = Load("grow");
    auto trap = Load("trap_oob");
    ASSERT_TRUE(hello && grow && trap);
    auto run_batch = [&](int n) {
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(engine_->Run(*hello, {}).ok());
        if (i % 100 == 0) {
          RunOptions o;
          o.stdin_data = "2";
          ASSERT_TRUE(engine_->Run(*grow, o).ok());
          ASSERT_TRUE(engine_->Run(*trap, {}).ok());
        }
      }
    };
    run_batch(20000);
    long before = RssKb();
    run_batch(100000);
    long after = RssKb();
    EXPECT_LT(after - before, 8 * 1024) << "RSS grew from " << before << " to " << after << " KiB";
  });
}

}  // namespace
}  // namespace aether::wasm
