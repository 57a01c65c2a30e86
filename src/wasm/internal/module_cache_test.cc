// Publishing a compiled object into the cache.
#include "wasm/internal/module_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace aether::wasm {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The compiler process is killed after its answer and reaped off the path
// (sandbox.cc), so it may still run while its object is published: what it
// writes then, through a descriptor it kept or a new file in its job
// directory, must not reach the cache. (A rename kept the process's inode:
// its late writes changed the cached object.)
TEST(ModuleCacheTest, WritesToTheJobObjectAfterPublishingDoNotReachTheCache) {
  fs::path dir = fs::temp_directory_path() / ("aether-cache-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  ModuleCache cache(dir.string());
  ASSERT_TRUE(cache.Ready().ok()) << cache.Ready().ToString();
  fs::create_directories(dir / "jobs" / "job-1");
  fs::path job = dir / "jobs" / "job-1" / "out.so";
  const std::string object(4096, 'A');
  std::ofstream(job, std::ios::binary) << object;
  int held = open(job.c_str(), O_WRONLY | O_CLOEXEC);  // as a process that kept it open
  ASSERT_GE(held, 0);

  std::string path = (dir / "m.key.fast.so").string();
  ModuleInfo info;
  info.has_memory = true;
  Result<VerifiedObject> published = cache.Publish(job.string(), path, info);
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_TRUE(published->SamePathStill().ok());

  const std::string evil(4096, 'B');
  ASSERT_EQ(pwrite(held, evil.data(), evil.size(), 0), static_cast<ssize_t>(evil.size()));
  close(held);
  std::ofstream(job, std::ios::binary | std::ios::trunc) << evil;

  EXPECT_EQ(ReadAll(path), object);
  EXPECT_TRUE(published->SamePathStill().ok());
  std::optional<VerifiedObject> found = cache.Find(path);
  ASSERT_TRUE(found.has_value()) << "the cached object no longer matches its digest";
  EXPECT_TRUE(found->info().has_memory);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(dir);
}

// What the job wrote is judged before it is copied: not a regular file, or
// too large, is refused.
TEST(ModuleCacheTest, PublishRefusesAJobObjectThatIsNotAPlainFile) {
  fs::path dir = fs::temp_directory_path() / ("aether-cache-test2-" + std::to_string(getpid()));
  fs::remove_all(dir);
  ModuleCache cache(dir.string());
  ASSERT_TRUE(cache.Ready().ok());
  fs::create_directories(dir / "jobs" / "job-1");
  fs::path job = dir / "jobs" / "job-1" / "out.so";
  fs::create_symlink("/etc/passwd", job);
  std::string path = (dir / "m.key.fast.so").string();
  EXPECT_FALSE(cache.Publish(job.string(), path, ModuleInfo{}).ok());
  EXPECT_FALSE(fs::exists(path));
  fs::remove(job);
  EXPECT_FALSE(cache.Publish(job.string(), path, ModuleInfo{}).ok());  // none at all
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aether::wasm
