#include "control/replica_set.h"

#include <gtest/gtest.h>

#include "control/leadership.h"

namespace aether::control {
namespace {

TEST(ReplicaSetTest, ListsTheValidEntriesAndLeavesItselfOutOfPeers) {
  std::unique_ptr<Store> store = NewMemoryStore();
  const std::string prefix(kReplicasPrefix);
  ASSERT_TRUE(store->Put(prefix + "b", EncodeReplicaRecord({"b", "http://127.0.0.1:2", "t"})).ok());
  ASSERT_TRUE(store->Put(prefix + "a", EncodeReplicaRecord({"a", "http://127.0.0.1:1", "t"})).ok());
  // Where a replica sends the admin token must be a plain http(s) URL:
  // entries that are not are ignored.
  for (const char* bad : {R"({"id":"c","url":"ftp://127.0.0.1:3"})",
                          R"({"id":"d","url":"http://user:secret@127.0.0.1:4"})",
                          R"({"id":"../e","url":"http://127.0.0.1:5"})", "not json"}) {
    ASSERT_TRUE(store->Put(prefix + "x" + std::to_string(std::hash<std::string>{}(bad)), bad).ok());
  }
  ReplicaSet set(*store, "a");
  auto all = set.All();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "a");
  EXPECT_EQ((*all)[1].url, "http://127.0.0.1:2");
  auto peers = set.Peers();
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].id, "b");
}

TEST(ReplicaSetTest, RecordsRoundTrip) {
  ReplicaRecord r{"ctl-1", "https://10.0.0.5:9090", "2026-12-05T12:00:00Z"};
  auto back = DecodeReplicaRecord(EncodeReplicaRecord(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->url, r.url);
  EXPECT_EQ(back->started_at, r.started_at);
  EXPECT_FALSE(DecodeReplicaRecord(R"({"id":"ctl-1"})").ok());
}

}  // namespace
}  // namespace aether::control
