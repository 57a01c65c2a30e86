#include "control/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "control/etcd_store.h"
#include "etcd_cluster.h"

namespace aether::control {
namespace {

using std::chrono::milliseconds;

enum class Backend { kMemory, kSqlite, kEtcd };

// The Store contract, on every backend. Revisions are relative to the
// store's at the start of each test: etcd's start at 1 and are shared by
// the tests (one etcd member for the suite, a key prefix per test).
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void SetUpTestSuite() {
    if (etcd_ == nullptr && !::aether::testing::EtcdBinary().empty()) {
      auto c = ::aether::testing::EtcdCluster::Start(1);
      ASSERT_TRUE(c.ok()) << c.status().message();
      etcd_ = std::move(c).value().release();
    }
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }

  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '_');
    switch (GetParam()) {
      case Backend::kMemory:
        store_ = NewMemoryStore();
        break;
      case Backend::kSqlite: {
        dir_ = std::filesystem::temp_directory_path() /
               ("aether-store-test-" + std::to_string(::getpid()) + "-" + test);
        std::filesystem::remove_all(dir_);
        auto s = OpenSqliteStore((dir_ / "sub" / "db.sqlite").string());
        ASSERT_TRUE(s.ok()) << s.status().ToString();
        store_ = std::move(*s);
        break;
      }
      case Backend::kEtcd: {
        ASSERT_NE(etcd_, nullptr) << "etcd is not installed (make deps)";
        auto s = OpenEtcdStore({.endpoints = etcd_->endpoints(), .prefix = "/" + test + "/"});
        ASSERT_TRUE(s.ok()) << s.status().ToString();
        store_ = std::move(*s);
        break;
      }
    }
    base_ = *store_->Revision();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static ::aether::testing::EtcdCluster* etcd_;
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  int64_t base_ = 0;  // the revision when the test started
};

::aether::testing::EtcdCluster* StoreTest::etcd_ = nullptr;

TEST_P(StoreTest, PutGetDeleteBumpRevisions) {
  EXPECT_EQ(*store_->Put("a", "1"), base_ + 1);
  EXPECT_EQ(*store_->Put("a", "2"), base_ + 2);
  auto kv = store_->Get("a");
  ASSERT_TRUE(kv.ok());
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->value, "2");
  EXPECT_EQ((*kv)->create_revision, base_ + 1);
  EXPECT_EQ((*kv)->mod_revision, base_ + 2);
  EXPECT_EQ(*store_->Delete("a"), base_ + 3);
  EXPECT_FALSE(store_->Get("a")->has_value());
  EXPECT_EQ(*store_->Revision(), base_ + 3);
}

TEST_P(StoreTest, ListPrefixInOrderWithPaging) {
  ASSERT_TRUE(store_->Put("f/b", "2").ok());
  ASSERT_TRUE(store_->Put("f/a", "1").ok());
  ASSERT_TRUE(store_->Put("f/c", "3").ok());
  ASSERT_TRUE(store_->Put("g/a", "x").ok());
  ASSERT_TRUE(store_->Put("f", "not in prefix f/").ok());
  auto all = store_->List("f/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, "f/a");
  EXPECT_EQ((*all)[2].key, "f/c");
  auto page = store_->List("f/", 1, "f/a");
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].key, "f/b");
  EXPECT_EQ(store_->List("")->size(), 5u);
}

TEST_P(StoreTest, TxnCompareAndSet) {
  // Absent → create succeeds once.
  TxnRequest create{{Compare::Absent("k")}, {Op::Put("k", "v1")}};
  auto r = store_->Txn(create);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->succeeded);
  int64_t rev = r->revision;
  auto again = store_->Txn(create);
  EXPECT_FALSE(again->succeeded);
  EXPECT_EQ(again->revision, rev);  // a failed txn does not bump

  // Stale revision loses, current revision wins.
  TxnRequest stale{{Compare::ModRevisionIs("k", rev - 1)}, {Op::Put("k", "bad")}};
  EXPECT_FALSE(store_->Txn(stale)->succeeded);
  TxnRequest fresh{{Compare::ModRevisionIs("k", rev), Compare::Exists("k")},
                   {Op::Put("k", "v2"), Op::Put("other", "o"), Op::Get("k")}};
  auto ok = store_->Txn(fresh);
  ASSERT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->revision, rev + 1);  // one revision for the whole txn
  ASSERT_EQ(ok->reads.size(), 1u);
  EXPECT_EQ(ok->reads[0][0].value, "v2");  // reads see the txn's writes
  EXPECT_EQ((*store_->Get("other"))->mod_revision, rev + 1);
  EXPECT_EQ((*store_->Get("k"))->value, "v2");
}

TEST_P(StoreTest, FailedTxnAppliesNothing) {
  ASSERT_TRUE(store_->Put("x", "1").ok());
  TxnRequest txn{{Compare::Exists("x"), Compare::Exists("missing")},
                 {Op::Put("x", "2"), Op::Delete("y")}};
  EXPECT_FALSE(store_->Txn(txn)->succeeded);
  EXPECT_EQ((*store_->Get("x"))->value, "1");
}

TEST_P(StoreTest, AKeyIsWrittenAtMostOncePerTxn) {
  ASSERT_TRUE(store_->Put("d/x", "1").ok());
  for (const TxnRequest& txn :
       {TxnRequest{{}, {Op::Put("x", "2"), Op::Delete("x")}},
        TxnRequest{{}, {Op::Put("x", "2"), Op::Put("x", "3")}},
        TxnRequest{{}, {Op::DeletePrefix("d/"), Op::Put("d/y", "2")}},
        TxnRequest{{}, {Op::DeletePrefix("d/"), Op::DeletePrefix("d/x")}}}) {
    auto r = store_->Txn(txn);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().message();
  }
  EXPECT_EQ((*store_->Get("d/x"))->value, "1");
  // Reading a key the txn writes is fine.
  auto r =
      store_->Txn({{}, {Op::Put("x", "2"), Op::Get("x"), Op::DeletePrefix("d/"), Op::List("d/")}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->reads[0][0].value, "2");
  EXPECT_TRUE(r->reads[1].empty());
}

TEST_P(StoreTest, DeletePrefix) {
  ASSERT_TRUE(store_->Put("v/a/1", "").ok());
  ASSERT_TRUE(store_->Put("v/a/2", "").ok());
  ASSERT_TRUE(store_->Put("v/ab/1", "").ok());
  TxnRequest txn{{}, {Op::DeletePrefix("v/a/")}};
  ASSERT_TRUE(store_->Txn(txn)->succeeded);
  auto left = store_->List("v/");
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, "v/ab/1");
}

TEST_P(StoreTest, ReadOnlyTxnDoesNotBump) {
  ASSERT_TRUE(store_->Put("a", "1").ok());
  TxnRequest txn{{}, {Op::Get("a"), Op::List("")}};
  auto r = store_->Txn(txn);
  EXPECT_EQ(r->revision, base_ + 1);
  EXPECT_EQ(*store_->Revision(), base_ + 1);
  ASSERT_EQ(r->reads.size(), 2u);
}

TEST_P(StoreTest, EmptyKeyRejected) {
  EXPECT_EQ(store_->Put("", "x").status().code(), Code::kInvalidArgument);
}

TEST_P(StoreTest, WaitForRevision) {
  // Already past: immediate.
  ASSERT_TRUE(store_->Put("a", "1").ok());
  EXPECT_EQ(*store_->WaitForRevision(base_, milliseconds(5000)), base_ + 1);
  // Timeout: returns the unchanged revision.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(*store_->WaitForRevision(base_ + 1, milliseconds(50)), base_ + 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(45));
  // A write from another thread wakes the waiter.
  std::thread writer([&] {
    // Gives the waiter time to park (the store shows no waiter count); a
    // write that came first would only make the wait return at once.
    std::this_thread::sleep_for(milliseconds(50));
    (void)store_->Put("b", "2");
  });
  EXPECT_EQ(*store_->WaitForRevision(base_ + 1, milliseconds(10000)), base_ + 2);
  writer.join();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kMemory, Backend::kSqlite, Backend::kEtcd),
                         [](const auto& info) {
                           switch (info.param) {
                             case Backend::kMemory:
                               return "Memory";
                             case Backend::kSqlite:
                               return "Sqlite";
                             case Backend::kEtcd:
                               return "Etcd";
                           }
                           return "";
                         });

TEST(SqliteStoreTest, SurvivesReopen) {
  auto dir = std::filesystem::temp_directory_path() /
             ("aether-store-reopen-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string path = (dir / "db").string();
  {
    auto s = OpenSqliteStore(path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Put("k", "v").ok());
    ASSERT_TRUE((*s)->Put("k2", "v").ok());
  }
  auto s = OpenSqliteStore(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->Revision(), 2);
  EXPECT_EQ((*(*s)->Get("k"))->value, "v");
  std::filesystem::remove_all(dir);
}

TEST(SqliteStoreTest, RefusesForeignDatabase) {
  auto dir = std::filesystem::temp_directory_path() /
             ("aether-store-foreign-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "db").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("this is not sqlite at all, just text padding padding padding padding", f);
    std::fclose(f);
  }
  EXPECT_FALSE(OpenSqliteStore(path).ok());
  std::filesystem::remove_all(dir);
}

TEST(PrefixEndTest, Increments) {
  EXPECT_EQ(PrefixEnd("a/"), "a0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(""), "");
}

}  // namespace
}  // namespace aether::control
