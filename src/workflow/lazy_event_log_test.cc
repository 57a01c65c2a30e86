#include "workflow/lazy_event_log.h"

#include <gtest/gtest.h>

#include <atomic>

#include "workflow/testing/memory_event_log.h"

namespace aether::workflow {
namespace {

using std::chrono::milliseconds;

TEST(LazyEventLogTest, ConnectsWhenFirstNeededAndRetriesAfterTheInterval) {
  std::atomic<int> attempts{0};
  std::atomic<bool> up{false};
  LazyEventLog log(
      [&]() -> Result<std::unique_ptr<EventLog>> {
        ++attempts;
        if (!up) return Unavailable("no servers available");
        return std::unique_ptr<EventLog>(std::make_unique<testing::MemoryEventLog>());
      },
      milliseconds(50));
  Status first = log.ConnectNow();
  EXPECT_EQ(first.code(), Code::kUnavailable);
  // Within the interval: no new attempt, the last error in the message.
  Status st = log.EnsureWorkflow("w");
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("no servers available"), std::string::npos) << st.message();
  EXPECT_EQ(attempts, 1);
  up = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!log.EnsureWorkflow("w").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(attempts, 2);
  EXPECT_TRUE(log.Append("w", "c", {"id1", "s", "p"}, std::chrono::steady_clock::now()).ok());
  auto sub = log.Subscribe("w", "c");
  ASSERT_TRUE(sub.ok());
  auto got = (*sub)->Fetch(10, milliseconds(100));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 1u);
  EXPECT_TRUE(log.DropWorkflow("w").ok());
  EXPECT_EQ(attempts, 2);  // connected once, kept
}

TEST(LazyEventLogTest, AConfigurationErrorIsReportedAsSuch) {
  LazyEventLog log([]() -> Result<std::unique_ptr<EventLog>> {
    return Unauthenticated("authorization violation");
  });
  EXPECT_EQ(log.ConnectNow().code(), Code::kUnauthenticated);
}

}  // namespace
}  // namespace aether::workflow
