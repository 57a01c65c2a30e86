#include "workflow/resources/file_pusher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/base64.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using testing::TempDir;

void PutPusherFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

class FilePusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.data_dir = data_.path();
    fake_.SetOutputs({"out"});
  }
  std::filesystem::path Dir() {
    std::filesystem::path d = std::filesystem::path(data_.path()) / kFilePusherDir;
    std::filesystem::create_directories(d);
    return d;
  }
  std::unique_ptr<Resource> Start(bool base64 = false) {
    FilePusherConfig c;
    c.period = 5ms;
    c.encode_base64 = base64;
    return NewFilePusher(fake_.Make(), c);
  }
  std::vector<std::string> Payloads() {
    std::vector<std::string> out;
    for (const auto& e : fake_.casts()) {
      EXPECT_EQ(e.output, "out");
      out.push_back(e.payload);
    }
    return out;
  }

  TempDir data_;
  FakeContext fake_;
};

TEST_F(FilePusherTest, CastsTheFilesInNameOrderRoundRobin) {
  PutPusherFile(Dir() / "b.txt", "second");
  PutPusherFile(Dir() / "a.txt", "first");
  PutPusherFile(Dir() / "c.bin", std::string("th\0rd", 5));
  auto res = Start();
  ASSERT_TRUE(fake_.WaitCasts(7));
  res->Stop();
  std::vector<std::string> p = Payloads();
  std::vector<std::string> order = {"first", "second", std::string("th\0rd", 5)};
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], order[i % 3]) << i;
  EXPECT_TRUE(fake_.failures().empty());
  EXPECT_EQ(res->Cast("fn", "x").code(), Code::kFailedPrecondition);
  EXPECT_EQ(res->Call("fn", "x", 1s).status().code(), Code::kFailedPrecondition);
}

TEST_F(FilePusherTest, EncodeBase64) {
  PutPusherFile(Dir() / "a", "hello\xff");
  auto res = Start(true);
  ASSERT_TRUE(fake_.WaitCasts(1));
  res->Stop();
  EXPECT_EQ(Payloads()[0], Base64Encode("hello\xff"));
}

// SECURITY: a symlink in the directory is never followed, so an entry
// cannot make the resource read a file elsewhere on the node; nor is a
// subdirectory read.
TEST_F(FilePusherTest, SymlinksAndSubdirectoriesAreNotRead) {
  TempDir outside;
  PutPusherFile(std::filesystem::path(outside.path()) / "secret", "secret");
  std::filesystem::create_symlink(std::filesystem::path(outside.path()) / "secret",
                                  Dir() / "a-link");
  std::filesystem::create_directory(Dir() / "b-dir");
  PutPusherFile(Dir() / "b-dir" / "inner", "inner");
  PutPusherFile(Dir() / "c", "plain");
  auto res = Start();
  ASSERT_TRUE(fake_.WaitCasts(3));
  res->Stop();
  for (const std::string& p : Payloads()) EXPECT_EQ(p, "plain");
}

TEST_F(FilePusherTest, OversizedFilesAreSkipped) {
  PutPusherFile(Dir() / "a-big", std::string(kFilePusherMaxFileBytes + 1, 'x'));
  PutPusherFile(Dir() / "b-limit", std::string(kFilePusherMaxFileBytes, 'y'));
  PutPusherFile(Dir() / "c-small", "small");
  auto res = Start();
  ASSERT_TRUE(fake_.WaitCasts(4));
  res->Stop();
  std::vector<std::string> p = Payloads();
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i].size(), i % 2 == 0 ? kFilePusherMaxFileBytes : 5u) << i;
  }
}

TEST_F(FilePusherTest, MissingOrEmptyDirectoryIsReportedAndNothingIsCast) {
  auto res = Start();  // no <data_dir>/file-pusher
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("cannot open the directory"), std::string::npos)
      << fake_.failures()[0];
  std::this_thread::sleep_for(30ms);
  res->Stop();
  EXPECT_TRUE(fake_.casts().empty());

  Dir();
  FakeContext empty;
  empty.data_dir = data_.path();
  empty.SetOutputs({"out"});
  auto res2 = NewFilePusher(empty.Make(), FilePusherConfig{.period = 5ms});
  ASSERT_TRUE(empty.WaitFailures(1));
  EXPECT_NE(empty.failures()[0].find("no file to push"), std::string::npos) << empty.failures()[0];
  std::this_thread::sleep_for(30ms);
  res2->Stop();
  EXPECT_TRUE(empty.casts().empty());
}

TEST_F(FilePusherTest, UnmappedOutputCastsNothingAndFailedCastsAreReported) {
  PutPusherFile(Dir() / "a", "a");
  fake_.SetOutputs({});
  auto res = Start();
  ASSERT_TRUE(fake_.WaitOutputReads(3));
  EXPECT_TRUE(fake_.casts().empty());
  fake_.SetOutputs({"out"});
  fake_.SetCastStatus(ResourceExhausted("mailbox full"));
  ASSERT_TRUE(fake_.WaitFailures(1));
  res->Stop();
  EXPECT_NE(fake_.failures()[0].find("mailbox full"), std::string::npos) << fake_.failures()[0];
}

}  // namespace
}  // namespace aether::workflow::resources
