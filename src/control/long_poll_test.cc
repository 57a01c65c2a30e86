#include "control/long_poll.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"

namespace aether::control {
namespace {

using aether::testing::Eventually;
using aether::testing::FakeClock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A LongPoll over a memory store whose revision is the store's, answering
// with the key it parked under.
class LongPollTest : public ::testing::Test {
 protected:
  LongPollTest()
      : store_(NewMemoryStore()),
        poll_(*store_,
              LongPollHooks{[this] { return store_->Revision(); },
                            [](const std::string& key, Responder& respond) {
                              respond(HttpResponse{200, "text/plain", key, {}});
                            },
                            [this](int64_t, size_t) { ++observed_; }},
              seconds(30), 2, "test", clock_) {
    poll_.Start();
  }

  // Parks (or answers) a request; its answer lands in answers().
  void Wait(const std::string& key, std::optional<int64_t> since, milliseconds wait) {
    poll_.Wait(key, since, wait, [this](HttpResponse r) {
      std::lock_guard lock(mu_);
      answers_.push_back(r.body);
    });
  }
  std::vector<std::string> answers() {
    std::lock_guard lock(mu_);
    return answers_;
  }
  // Until the watch thread has begun a full round after this call (it
  // checks every parked request's deadline once per round).
  bool AfterOneRound() {
    int64_t seen = observed_.load();
    return Eventually([&] { return observed_.load() >= seen + 2; });
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::atomic<int64_t> observed_{0};
  std::mutex mu_;
  std::vector<std::string> answers_;
  LongPoll poll_;
};

TEST_F(LongPollTest, AnswersAtOnceWithoutAMatchingSince) {
  int64_t rev = store_->Revision().value();
  Wait("no-since", std::nullopt, seconds(10));
  Wait("older", rev - 1, seconds(10));
  Wait("no-wait", rev, milliseconds(0));
  EXPECT_EQ(answers(), (std::vector<std::string>{"no-since", "older", "no-wait"}));
  EXPECT_EQ(poll_.waiters(), 0u);
}

TEST_F(LongPollTest, ParksUntilItsDeadlineOnTheClock) {
  int64_t rev = store_->Revision().value();
  Wait("a", rev, seconds(20));
  EXPECT_EQ(poll_.waiters(), 1u);
  clock_.Advance(seconds(19));
  ASSERT_TRUE(AfterOneRound());
  EXPECT_TRUE(answers().empty()) << "1 s left";
  clock_.Advance(seconds(1));
  ASSERT_TRUE(Eventually([&] { return answers().size() == 1; }));
  EXPECT_EQ(answers()[0], "a");
  EXPECT_EQ(poll_.waiters(), 0u);
}

TEST_F(LongPollTest, TheWaitIsCappedAtMaxWait) {
  Wait("a", store_->Revision().value(), std::chrono::hours(1));
  clock_.Advance(seconds(30));
  ASSERT_TRUE(Eventually([&] { return answers().size() == 1; }));
}

TEST_F(LongPollTest, AChangeAnswersAtOnce) {
  Wait("a", store_->Revision().value(), seconds(20));
  ASSERT_TRUE(store_->Put("k", "v").ok());
  ASSERT_TRUE(Eventually([&] { return answers().size() == 1; }));
  EXPECT_EQ(poll_.waiters(), 0u);
}

TEST_F(LongPollTest, BeyondMaxWaitersAnswersAtOnceAndStopAnswersTheParked) {
  int64_t rev = store_->Revision().value();
  Wait("a", rev, seconds(20));
  Wait("b", rev, seconds(20));
  Wait("c", rev, seconds(20));
  EXPECT_EQ(answers(), std::vector<std::string>{"c"});
  EXPECT_EQ(poll_.waiters(), 2u);
  poll_.Stop();
  EXPECT_EQ(answers(), (std::vector<std::string>{"c", "a", "b"}));
}

}  // namespace
}  // namespace aether::control
