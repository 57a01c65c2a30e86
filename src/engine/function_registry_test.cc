#include "engine/function_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/testing/eventually.h"
#include "engine/testing/fake_engine.h"

namespace aether::engine {
namespace {

namespace fs = std::filesystem;
using testing::FakeEngine;
using testing::FakeModule;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aether-registry-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

  // Written beside the target and renamed in, as deploy tools do.
  void Write(const std::string& file, const std::string& content) const {
    std::string tmp = path_ + "/." + file + ".tmp";
    std::ofstream(tmp, std::ios::binary) << content;
    fs::rename(tmp, path_ + "/" + file);
  }

 private:
  std::string path_;
};

std::string TextOf(Function& f) {
  auto m = f.WaitModule();
  if (!m.ok()) return "error: " + m.status().message();
  return static_cast<const FakeModule&>(**m).text();
}

// inotify events arrive asynchronously: wait for what they cause.
using aether::testing::Eventually;

TEST(FunctionRegistryTest, LoadsEveryValidFileInTheBackground) {
  TempDir dir;
  dir.Write("hello.wasm", "hello!");
  dir.Write("bad.wasm", "bad bytes");
  dir.Write("Upper.wasm", "ignored");
  dir.Write("notes.txt", "ignored");
  FakeEngine engine;
  auto reg = NewFunctionRegistry(engine, {.dir = dir.path()});
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ((*reg)->size(), 2u);
  // Prewarm: both are loaded without anyone asking.
  EXPECT_TRUE(Eventually([&] { return engine.loads.load() == 2; }));

  auto hello = (*reg)->Find("hello");
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->name(), "hello");
  EXPECT_EQ(TextOf(*hello), "hello!");
  auto bad = (*reg)->Find("bad");
  ASSERT_NE(bad, nullptr);
  auto m = bad->WaitModule();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "bad magic number");
  EXPECT_EQ((*reg)->Find("Upper"), nullptr);
  EXPECT_EQ((*reg)->Find("notes"), nullptr);
  EXPECT_EQ((*reg)->Find("../hello"), nullptr);

  auto list = (*reg)->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "bad");
  EXPECT_EQ(list[0].state, "failed");
  EXPECT_EQ(list[0].error, "bad magic number");
  EXPECT_EQ(list[1].name, "hello");
  EXPECT_EQ(list[1].state, "ready");
  EXPECT_EQ(list[1].tier, "fast");
  EXPECT_EQ(list[1].size, 6u);
  EXPECT_EQ(list[1].sha256, Sha256Hex(std::string_view("hello!")));
}

TEST(FunctionRegistryTest, MissingDirectoryIsAnError) {
  FakeEngine engine;
  auto reg = NewFunctionRegistry(engine, {.dir = "/nonexistent/aether-functions"});
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.status().code(), Code::kNotFound);
}

TEST(FunctionRegistryTest, NoDirectoryServesNothing) {
  FakeEngine engine;
  auto reg = NewFunctionRegistry(engine, {});
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ((*reg)->Find("hello"), nullptr);
  EXPECT_EQ((*reg)->size(), 0u);
}

TEST(FunctionRegistryTest, FollowsAddReplaceAndRemove) {
  TempDir dir;
  FakeEngine engine;
  auto reg = NewFunctionRegistry(engine, {.dir = dir.path()});
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ((*reg)->size(), 0u);

  dir.Write("fn.wasm", "v1");
  ASSERT_TRUE(Eventually([&] { return (*reg)->size() == 1; }));
  auto v1 = (*reg)->Find("fn");
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(TextOf(*v1), "v1");

  dir.Write("fn.wasm", "v2");
  ASSERT_TRUE(Eventually([&] {
    auto f = (*reg)->Find("fn");
    return f != nullptr && TextOf(*f) == "v2";
  }));
  // A request holding the old version keeps it.
  EXPECT_EQ(TextOf(*v1), "v1");

  // In-place rewrite (no rename): IN_CLOSE_WRITE.
  { std::ofstream(dir.path() + "/fn.wasm", std::ios::binary | std::ios::trunc) << "v3"; }
  ASSERT_TRUE(Eventually([&] {
    auto f = (*reg)->Find("fn");
    return f != nullptr && TextOf(*f) == "v3";
  }));

  fs::remove(dir.path() + "/fn.wasm");
  EXPECT_TRUE(Eventually([&] { return (*reg)->size() == 0; }));
  EXPECT_EQ((*reg)->Find("fn"), nullptr);
}

TEST(FunctionRegistryTest, UnknownNameTriggersALookupWithoutEvents) {
  TempDir dir;
  FakeEngine engine;
  // No inotify and a poll interval longer than the test: only Find's
  // fallback can see the new file.
  auto reg = NewFunctionRegistry(
      engine, {.dir = dir.path(), .use_inotify = false, .poll_interval = std::chrono::hours(1)});
  ASSERT_TRUE(reg.ok());
  dir.Write("late.wasm", "late");
  auto f = (*reg)->Find("late");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(TextOf(*f), "late");
  EXPECT_EQ((*reg)->size(), 1u);
}

TEST(FunctionRegistryTest, PollingModeRescans) {
  TempDir dir;
  FakeEngine engine;
  auto reg = NewFunctionRegistry(
      engine,
      {.dir = dir.path(), .use_inotify = false, .poll_interval = std::chrono::milliseconds(20)});
  ASSERT_TRUE(reg.ok());
  dir.Write("a.wasm", "a");
  EXPECT_TRUE(Eventually([&] { return (*reg)->size() == 1; }));
  fs::remove(dir.path() + "/a.wasm");
  EXPECT_TRUE(Eventually([&] { return (*reg)->size() == 0; }));
}

TEST(FunctionRegistryTest, RequestLoadsAQueuedModuleItself) {
  TempDir dir;
  for (int i = 0; i < 20; ++i)
    dir.Write("f" + std::to_string(i) + ".wasm", "m" + std::to_string(i));
  FakeEngine engine;
  auto reg = NewFunctionRegistry(engine, {.dir = dir.path()});
  ASSERT_TRUE(reg.ok());
  auto f = (*reg)->Find("f19");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(TextOf(*f), "m19");
  EXPECT_TRUE(f->loaded());
  // Every module is loaded exactly once, whoever did it.
  EXPECT_TRUE(Eventually([&] {
    for (const auto& info : (*reg)->List()) {
      if (info.state != "ready") return false;
    }
    return true;
  }));
  EXPECT_EQ(engine.loads.load(), 20);
}

}  // namespace
}  // namespace aether::engine
