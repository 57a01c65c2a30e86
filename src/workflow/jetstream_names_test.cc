#include "workflow/jetstream_names.h"

#include <gtest/gtest.h>

#include <vector>

namespace aether::workflow {
namespace {

using Kind = JetStreamName::Kind;

TEST(JetStreamNamesTest, NamesCarryTheIncarnation) {
  EXPECT_EQ(EventStreamName("aether", {"orders", 42}), "aether_wf_orders_I42");
  EXPECT_EQ(EventSubject("aether", {"orders", 42}, "parse"), "aether.wf.orders.I42.parse");
  EXPECT_EQ(EventSubject("aether", {"orders", 42}, "*"), "aether.wf.orders.I42.*");
  EXPECT_EQ(KvBucketNameOf("aether", {"orders", 42}, "store"), "aether_kv_6_orders_store_I42");
  // Without one (a workflow created before incarnations): the names as before.
  EXPECT_EQ(EventStreamName("aether", "orders"), "aether_wf_orders");
  EXPECT_EQ(EventSubject("aether", "orders", "parse"), "aether.wf.orders.parse");
  EXPECT_EQ(KvBucketNameOf("aether", "orders", "store"), "aether_kv_6_orders_store");
}

TEST(JetStreamNamesTest, ParsesWhatItBuilds) {
  for (int64_t inc : {int64_t{0}, int64_t{1}, int64_t{9223372036854775807}}) {
    for (const std::string& wf :
         std::vector<std::string>{"a", "orders", "a_b-c_9", std::string(63, 'w')}) {
      auto s = ParseJetStreamName("aether", EventStreamName("aether", {wf, inc}));
      ASSERT_TRUE(s.has_value()) << wf << " " << inc;
      EXPECT_EQ(*s, (JetStreamName{Kind::kEventStream, wf, inc, ""}));
      auto b =
          ParseJetStreamName("my-fleet_1", "KV_" + KvBucketNameOf("my-fleet_1", {wf, inc}, "x_y"));
      ASSERT_TRUE(b.has_value()) << wf << " " << inc;
      EXPECT_EQ(*b, (JetStreamName{Kind::kKvBucket, wf, inc, "x_y"}));
    }
  }
  // "a_b" + "c" and "a" + "b_c" stay apart.
  EXPECT_EQ(ParseJetStreamName("p", "KV_p_kv_3_a_b_c_I2")->workflow, "a_b");
  EXPECT_EQ(ParseJetStreamName("p", "KV_p_kv_1_a_b_c")->component, "b_c");
}

TEST(JetStreamNamesTest, OthersNamesAreNotOurs) {
  for (std::string_view s : {"aether",
                             "aether_wf_",
                             "other_wf_orders",
                             "aether_wfx_orders",
                             "aether_wf_Orders",
                             "aether_wf_orders_I",
                             "aether_wf_orders_I0",
                             "aether_wf_orders_I07",
                             "aether_wf_orders_Ix",
                             "aether_wf_orders_I-3",
                             "aether_wf_orders_I99999999999999999999",
                             "aether_kv_6_orders_store",
                             "KV_aether_kv_",
                             "KV_aether_kv_x_orders_store",
                             "KV_aether_kv_60_orders_store",
                             "KV_aether_kv_6_orders",
                             "KV_aether_kv_6_orders_",
                             "KV_aether_kv_0__store",
                             "KV_other_kv_6_orders_store",
                             "KV_aether_kv_6_orders_store_I0"}) {
    EXPECT_FALSE(ParseJetStreamName("aether", s).has_value()) << s;
  }
}

}  // namespace
}  // namespace aether::workflow
