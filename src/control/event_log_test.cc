#include "control/event_log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "control/leadership.h"

namespace aether::control {
namespace {

TEST(EventLogTest, IdsContinueAcrossReopen) {
  auto store = NewMemoryStore();
  {
    auto log = EventLog::Open(*store).value();
    EXPECT_EQ(*log->Append("a", "api"), 1);
    EXPECT_EQ(*log->Append("b", "n1", R"({"k":1})"), 2);
  }
  auto log = EventLog::Open(*store).value();
  EXPECT_EQ(*log->Append("c", "api"), 3);
  auto page = log->List(1, "", 10);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].source, "n1");
  EXPECT_EQ(boost::json::parse(page->events[0].data).as_object().at("k").as_int64(), 1);
  EXPECT_EQ(page->next, 3);
  EXPECT_EQ(page->events[0].time.size(), 20u);
}

TEST(EventLogTest, LimitAndTypeFilterPage) {
  auto store = NewMemoryStore();
  auto log = EventLog::Open(*store).value();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(log->Append(i % 2 ? "odd" : "even", "api", std::to_string(i)).ok());
  auto first = log->List(0, "odd", 2);
  ASSERT_EQ(first->events.size(), 2u);
  EXPECT_EQ(first->events[1].id, 4);
  auto rest = log->List(first->next, "odd", 100);
  ASSERT_EQ(rest->events.size(), 3u);
  EXPECT_EQ(rest->next, 10);
  auto none = log->List(10, "", 100);
  EXPECT_TRUE(none->events.empty());
  EXPECT_EQ(none->next, 10);  // an empty page keeps the cursor
}

TEST(EventLogTest, KeepsTheNewestMaxEvents) {
  auto store = NewMemoryStore();
  auto log = EventLog::Open(*store).value();
  const int64_t kMaxEvents = DatabaseConfig{}.max_events;  // the default
  const int64_t total = kMaxEvents + 150;
  for (int64_t i = 0; i < total; ++i) ASSERT_TRUE(log->Append("e", "api").ok());
  auto kept = store->List("events/");
  EXPECT_LE(static_cast<int64_t>(kept->size()), kMaxEvents + 100);
  EXPECT_GE(static_cast<int64_t>(kept->size()), kMaxEvents);
  auto page = log->List(0, "", 1);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_GT(page->events[0].id, total - static_cast<int64_t>(kept->size()));
  // Pruning survives a reopen: ids go on from the last one.
  log = EventLog::Open(*store).value();
  EXPECT_EQ(*log->Append("e", "api"), total + 1);
}

TEST(EventLogTest, KeepsTheConfiguredNumberOfEvents) {
  auto store = NewMemoryStore();
  auto log = EventLog::Open(*store, 5).value();
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(log->Append("e", "api").ok());
  auto kept = store->List("events/");
  // Pruned in batches of 100 down to the newest 5.
  EXPECT_LE(kept->size(), 5u + 100u);
  EXPECT_GE(kept->size(), 5u);
  auto page = log->List(0, "", 1000);
  EXPECT_EQ(page->events.back().id, 300);
  EXPECT_EQ(EventLog::Open(*store, 0).status().code(), Code::kInvalidArgument);
}

// Replicas: each appends through its own EventLog over the shared store;
// ids stay unique and in order (an append that lost the race reads the
// sequence again), and pruning still bounds the log.
TEST(EventLogTest, ReplicasAppendUniqueIds) {
  auto store = NewMemoryStore();
  auto leader = NewEmbeddedLeadership("a", "memory");
  FencedStore fenced(*store, *leader);
  auto a = EventLog::Open(*store, 5, &fenced).value();
  auto b = EventLog::Open(*store, 5).value();
  for (int i = 0; i < 150; ++i) {
    ASSERT_EQ(*a->Append("from_a", "api"), 2 * i + 1);
    ASSERT_EQ(*b->Append("from_b", "api"), 2 * i + 2);
  }
  auto page = a->List(0, "", 1000);
  ASSERT_FALSE(page->events.empty());
  EXPECT_EQ(page->events.back().id, 300);
  EXPECT_LE(store->List("events/")->size(), 5u + 2 * 128u);
}

}  // namespace
}  // namespace aether::control
