#include "control/prefetch_hints.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "common/testing/eventually.h"
#include "protocol/module_hints.h"

namespace aether::control {
namespace {

using aether::testing::Eventually;
using std::chrono::milliseconds;
using std::chrono::seconds;

class PrefetchHintsTest : public ::testing::Test {
 protected:
  PrefetchHintsTest() { hints_.Start(); }

  // Parks (or answers) a poll; its answer lands in answers().
  void Wait(std::optional<int64_t> since, milliseconds wait) {
    hints_.Wait(since, wait, [this](const HttpResponse& r) {
      std::lock_guard lock(mu_);
      ASSERT_EQ(r.status, 200);
      Result<protocol::ModuleHints> h = protocol::ParseModuleHints(r.body);
      ASSERT_TRUE(h.ok()) << h.status().message();
      answers_.push_back(*h);
    });
  }
  std::vector<protocol::ModuleHints> answers() {
    std::lock_guard lock(mu_);
    return answers_;
  }
  static std::shared_ptr<const std::string> Bytes(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
  }

  Gauge waiters_;
  std::mutex mu_;
  std::vector<protocol::ModuleHints> answers_;
  PrefetchHints hints_{&waiters_};  // last: Stop() answers into the members above
};

TEST_F(PrefetchHintsTest, AParkedPollHearsOfTheNextDeployAtOnce) {
  Wait(std::nullopt, seconds(30));  // the first poll: at once, nothing under way
  ASSERT_EQ(answers().size(), 1u);
  EXPECT_EQ(answers()[0].revision, 0);
  EXPECT_TRUE(answers()[0].modules.empty());

  Wait(0, seconds(30));
  EXPECT_EQ(hints_.waiters(), 1u);
  EXPECT_TRUE(Eventually([&] { return waiters_.Value() == 1; }));
  std::string sha = Sha256Hex("module one");
  {
    PrefetchHints::Announcement a = hints_.Announce(sha, Bytes("module one"));
    ASSERT_TRUE(Eventually([&] { return answers().size() == 2; }));
    EXPECT_EQ(answers()[1].revision, 1);
    ASSERT_EQ(answers()[1].modules.size(), 1u);
    EXPECT_EQ(answers()[1].modules[0].sha256, sha);
    EXPECT_EQ(answers()[1].modules[0].size, 10u);
    ASSERT_NE(hints_.Bytes(sha), nullptr);
    EXPECT_EQ(*hints_.Bytes(sha), "module one");
    // A poll that already has revision 1 waits for the next one.
    Wait(1, seconds(30));
    EXPECT_EQ(hints_.waiters(), 1u);
  }
  // The deploy ended: its bytes are no longer served, and the parked poll
  // is not woken for it.
  EXPECT_EQ(hints_.Bytes(sha), nullptr);
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(answers().size(), 2u);
  EXPECT_EQ(hints_.waiters(), 1u);
  // A revision from before a restart is answered at once.
  Wait(57, seconds(30));
  ASSERT_EQ(answers().size(), 3u);
  EXPECT_TRUE(answers()[2].modules.empty());
  hints_.Stop();  // answers the parked poll
  EXPECT_EQ(answers().size(), 4u);
  EXPECT_EQ(hints_.waiters(), 0u);
}

TEST_F(PrefetchHintsTest, ListsEachModuleUnderWayOnceNewestFirstAndTimesOut) {
  std::string a = Sha256Hex("a"), b = Sha256Hex("b");
  PrefetchHints::Announcement first = hints_.Announce(a, Bytes("a"));
  PrefetchHints::Announcement second = hints_.Announce(b, Bytes("b"));
  PrefetchHints::Announcement again = hints_.Announce(a, Bytes("a"));  // the same module twice
  Wait(std::nullopt, seconds(30));
  ASSERT_EQ(answers().size(), 1u);
  EXPECT_EQ(answers()[0].revision, 3);
  ASSERT_EQ(answers()[0].modules.size(), 2u);
  EXPECT_EQ(answers()[0].modules[0].sha256, a);
  EXPECT_EQ(answers()[0].modules[1].sha256, b);
  { PrefetchHints::Announcement moved = std::move(again); }
  EXPECT_NE(hints_.Bytes(a), nullptr);  // the first deploy of it is still under way

  Wait(3, milliseconds(50));  // nothing new: answered when its wait runs out
  EXPECT_TRUE(Eventually([&] { return answers().size() == 2u; }));
  EXPECT_EQ(answers()[1].revision, 3);
  Wait(3, milliseconds(0));  // no wait: at once
  EXPECT_EQ(answers().size(), 3u);
}

}  // namespace
}  // namespace aether::control
