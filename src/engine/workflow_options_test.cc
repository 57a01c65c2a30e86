#include "engine/workflow_options.h"

#include <gtest/gtest.h>

#include "common/limits.h"

namespace aether::engine {
namespace {

using namespace std::chrono_literals;

// Every key the mapping reads, each set away from its default, through the
// TOML parser: a key that stops reaching its field fails here.
TEST(WorkflowOptionsTest, EveryKeyReachesItsField) {
  Result<Config> c = ParseConfig(R"([runtime]
data_dir = "/var/lib/aether-test"
memory_limit = "32MB"
exec_timeout = "1500ms"
workers = 3
[workflow]
mailbox_length = 17
send_wait = "300ms"
dataplane_queue_length = 99
dataplane_dedup_batches = 12
dataplane_dedup_window = "90s"
redis_connect_timeout = "250ms"
redis_command_timeout = "4s"
redis_queue_length = 33
http_egress_queue_length = 7
kv_queue_length = 8
egress_default = "none"
)",
                                 "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  WorkflowOptions o = WorkflowOptionsFromConfig(*c);

  EXPECT_EQ(o.host.data_dir, "/var/lib/aether-test");
  EXPECT_EQ(o.host.memory_limit, 32ull << 20);
  EXPECT_EQ(o.host.timeout, 1500ms);
  EXPECT_EQ(o.host.threads, 3u);
  EXPECT_EQ(o.host.mailbox_length, 17u);
  EXPECT_EQ(o.host.send_wait, 300ms);
  EXPECT_EQ(o.host.resource_limits.redis_connect_timeout, 250ms);
  EXPECT_EQ(o.host.resource_limits.redis_command_timeout, 4s);
  EXPECT_EQ(o.host.resource_limits.redis_queue_length, 33u);
  EXPECT_EQ(o.host.resource_limits.http_egress_queue_length, 7u);
  EXPECT_EQ(o.host.resource_limits.kv_queue_length, 8u);
  EXPECT_FALSE(o.host.resource_limits.egress_public_by_default);
  EXPECT_EQ(o.dataplane.queue_length, 99u);
  EXPECT_EQ(o.dataplane.dedup_batches, 12u);
  EXPECT_EQ(o.dataplane.dedup_window, 90s);

  // The wiring is the caller's.
  EXPECT_EQ(o.host.engine, nullptr);
  EXPECT_EQ(o.host.remote, nullptr);
  EXPECT_EQ(o.host.metrics, nullptr);
  EXPECT_EQ(o.dataplane.identity, nullptr);
}

// An empty file gives the shared defaults of common/limits.h.
TEST(WorkflowOptionsTest, AnEmptyConfigGivesTheDefaults) {
  Result<Config> c = ParseConfig("", "engine.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  WorkflowOptions o = WorkflowOptionsFromConfig(*c);
  EXPECT_EQ(o.host.memory_limit, kDefaultMemoryLimit);
  EXPECT_EQ(o.host.timeout, kDefaultExecTimeout);
  EXPECT_EQ(o.host.threads, 0u);
  EXPECT_EQ(o.host.mailbox_length, kDefaultMailboxLength);
  EXPECT_EQ(o.host.send_wait, kDefaultSendWait);
  EXPECT_EQ(o.host.resource_limits.redis_connect_timeout, kDefaultRedisConnectTimeout);
  EXPECT_EQ(o.host.resource_limits.redis_command_timeout, kDefaultRedisCommandTimeout);
  EXPECT_EQ(o.host.resource_limits.redis_queue_length, kDefaultRedisQueueLength);
  EXPECT_EQ(o.host.resource_limits.http_egress_queue_length, kDefaultHttpEgressQueueLength);
  EXPECT_EQ(o.host.resource_limits.kv_queue_length, kDefaultKvQueueLength);
  EXPECT_TRUE(o.host.resource_limits.egress_public_by_default);
  EXPECT_EQ(o.dataplane.queue_length, kDefaultDataplaneQueueLength);
  EXPECT_EQ(o.dataplane.dedup_batches, kDefaultDataplaneDedupBatches);
  EXPECT_EQ(o.dataplane.dedup_window, kDefaultDataplaneDedupWindow);
}

}  // namespace
}  // namespace aether::engine
