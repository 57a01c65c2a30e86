#include "workflow/resources/file_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t Mode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

class FileLogTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_.data_dir = dir_.path(); }
  std::string LogPath(const std::string& name) {
    return dir_.path() + "/workflows/wf-test/" + name;
  }
  FileLogConfig Config(std::string name = "events.log", uint64_t max_bytes = 1 << 20) {
    FileLogConfig c;
    c.filename = std::move(name);
    c.max_bytes = max_bytes;
    return c;
  }

  TempDir dir_;
  FakeContext fake_;
};

TEST(FileLogLineTest, OneEventIsOneLine) {
  EXPECT_EQ(FileLogLine("plain"), "plain");
  EXPECT_EQ(FileLogLine("a\nb\r\nc"), "a\\nb\\r\\nc");
  EXPECT_EQ(FileLogLine("trailing\n"), "trailing");
  EXPECT_EQ(FileLogLine("trailing\r\n"), "trailing");
  EXPECT_EQ(FileLogLine("two\n\n"), "two\\n");
  EXPECT_EQ(FileLogLine(R"({"a":"x\"y\\z"})"), R"({"a":"x\"y\\z"})") << "JSON is kept as is";
  EXPECT_EQ(FileLogLine(std::string("n\0l", 3)), std::string("n\0l", 3));
  EXPECT_EQ(FileLogLine(""), "");
}

TEST_F(FileLogTest, AppendsLines) {
  auto res = NewFileLog(fake_.Make(), Config());
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_TRUE((*res)->Cast("fn", "first").ok());
  EXPECT_TRUE((*res)->Cast("fn", "multi\nline").ok());
  auto reply = (*res)->Call("fn", "called\n", 1s);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, "ok");
  EXPECT_TRUE((*res)->Cast("fn", "").ok());
  (*res)->Stop();
  (*res)->Stop();
  EXPECT_EQ(ReadFile(LogPath("events.log")), "first\nmulti\\nline\ncalled\n\n");
  EXPECT_EQ(Mode(LogPath("events.log")), 0640u);
  EXPECT_EQ(Mode(dir_.path() + "/workflows/wf-test"), 0750u);
  EXPECT_EQ(Mode(dir_.path() + "/workflows"), 0750u);
  EXPECT_FALSE((*res)->Cast("fn", "after stop").ok());

  // A new resource on the same file appends.
  auto again = NewFileLog(fake_.Make(), Config());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Cast("fn", "more").ok());
  again->reset();  // the destructor stops
  EXPECT_EQ(ReadFile(LogPath("events.log")), "first\nmulti\\nline\ncalled\n\nmore\n");
}

TEST_F(FileLogTest, AddTimestampPrefixesEachLine) {
  FileLogConfig c = Config("ts.log");
  c.add_timestamp = true;
  auto res = NewFileLog(fake_.Make(), c);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_TRUE((*res)->Cast("fn", "hello").ok());
  (*res)->Stop();
  std::string line = ReadFile(LogPath("ts.log"));
  // "2026-11-23T22:30:01.123Z hello\n"
  ASSERT_EQ(line.size(), 24u + 1 + 5 + 1) << line;
  EXPECT_EQ(line[4], '-');
  EXPECT_EQ(line[10], 'T');
  EXPECT_EQ(line[23], 'Z');
  EXPECT_EQ(line.substr(25), "hello\n");
}

TEST_F(FileLogTest, AddSourceIdPrefixesTheSender) {
  FileLogConfig c = Config("src.log");
  c.add_source_id = true;
  auto res = NewFileLog(fake_.Make(), c);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_TRUE((*res)->Cast("parse", "hello").ok());
  c = Config("both.log");
  c.add_source_id = true;
  c.add_timestamp = true;
  auto both = NewFileLog(fake_.Make(), c);
  ASSERT_TRUE(both.ok());
  ASSERT_TRUE((*both)->Cast("parse", "hi").ok());
  (*res)->Stop();
  (*both)->Stop();
  EXPECT_EQ(ReadFile(LogPath("src.log")), "parse hello\n");
  std::string line = ReadFile(LogPath("both.log"));  // EDGELESS's order
  ASSERT_EQ(line.size(), 24u + 1 + 8 + 1) << line;
  EXPECT_EQ(line.substr(25), "parse hi\n");
}

TEST_F(FileLogTest, RotatesBeyondMaxBytes) {
  auto res = NewFileLog(fake_.Make(), Config("r.log", 20));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  for (const char* line : {"1111111", "2222222", "3333333", "4444444", "5555555"}) {
    ASSERT_TRUE((*res)->Cast("fn", line).ok());
  }
  // 8 bytes a line, 20 at most: two lines a file.
  EXPECT_EQ(ReadFile(LogPath("r.log.1")), "3333333\n4444444\n");
  EXPECT_EQ(ReadFile(LogPath("r.log")), "5555555\n");
  // A line larger than max_bytes is written alone.
  std::string big(50, 'x');
  ASSERT_TRUE((*res)->Cast("fn", big).ok());
  ASSERT_TRUE((*res)->Cast("fn", "6").ok());
  EXPECT_EQ(ReadFile(LogPath("r.log.1")), big + "\n");
  EXPECT_EQ(ReadFile(LogPath("r.log")), "6\n");
}

TEST_F(FileLogTest, RefusesUnsafeNames) {
  for (const char* name : {"../escape.log", "a/b.log", ".hidden", "..", "", "sp ace.log"}) {
    auto res = NewFileLog(fake_.Make(), Config(name));
    EXPECT_EQ(res.status().code(), Code::kInvalidArgument) << name;
  }
  for (const char* wf : {"../up", "a/b", "..", "", "UPPER"}) {
    ResourceContext ctx = fake_.Make();
    ctx.workflow = wf;
    auto res = NewFileLog(std::move(ctx), Config());
    EXPECT_EQ(res.status().code(), Code::kInvalidArgument) << wf;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/escape.log"));
}

TEST_F(FileLogTest, UnusableDataDirIsUnavailable) {
  std::string file = dir_.path() + "/not-a-dir";
  std::ofstream(file) << "x";
  fake_.data_dir = file;
  auto res = NewFileLog(fake_.Make(), Config());
  EXPECT_EQ(res.status().code(), Code::kUnavailable) << res.status().ToString();
}

TEST_F(FileLogTest, ConcurrentCastsKeepLinesWhole) {
  auto res = NewFileLog(fake_.Make(), Config("c.log", 64 << 20));
  ASSERT_TRUE(res.ok());
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) {
        std::string line = "t" + std::to_string(t) + "-" + std::to_string(i) + "-" +
                           std::string(100, static_cast<char>('a' + t));
        EXPECT_TRUE((*res)->Cast("fn", line).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  (*res)->Stop();
  std::istringstream in(ReadFile(LogPath("c.log")));
  std::string line;
  std::vector<int> next(kThreads, 0);
  int count = 0;
  while (std::getline(in, line)) {
    ++count;
    int t = line[1] - '0';
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    std::string want = "t" + std::to_string(t) + "-" + std::to_string(next[t]++) + "-" +
                       std::string(100, static_cast<char>('a' + t));
    ASSERT_EQ(line, want) << "each thread's lines whole and in its order";
  }
  EXPECT_EQ(count, kThreads * kLines);
}

}  // namespace
}  // namespace aether::workflow::resources
