#include "engine/prefetcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "common/sha256.h"
#include "common/testing/eventually.h"
#include "engine/testing/fake_engine.h"

namespace aether::engine {
namespace {

using aether::testing::Eventually;

// Modules are text (FakeEngine); the read hook serves them by digest and
// can be held to fill the prefetcher's threads.
class PrefetcherTest : public ::testing::Test {
 protected:
  protocol::ModuleHint Hint(const std::string& text) {
    std::string sha = Sha256Hex(text);
    std::lock_guard lock(mu_);
    modules_[sha] = text;
    return {sha, text.size()};
  }
  Result<std::vector<uint8_t>> Read(const std::string& sha) {
    std::unique_lock lock(mu_);
    ++reads_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    auto it = modules_.find(sha);
    if (it == modules_.end()) return NotFound("unknown artifact");
    return std::vector<uint8_t>(it->second.begin(), it->second.end());
  }
  void Hold(bool hold) {
    std::lock_guard lock(mu_);
    hold_ = hold;
    cv_.notify_all();
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }
  std::unique_ptr<Prefetcher> Make(PrefetcherOptions o = {}) {
    o.compiled = &compiled_;
    o.failed = &failed_;
    o.dropped = &dropped_;
    return std::make_unique<Prefetcher>(
        engine_, [this](const std::string& sha) { return Read(sha); }, o);
  }

  testing::FakeEngine engine_;
  Counter compiled_, failed_, dropped_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> modules_;
  int reads_ = 0;
  bool hold_ = false;
};

TEST_F(PrefetcherTest, PreparesEachAnnouncedModuleOnce) {
  auto p = Make();
  protocol::ModuleHint one = Hint("one"), two = Hint("two");
  p->Offer({one, two});
  p->Offer({one});  // announced again (the next answer of the poll)
  ASSERT_TRUE(Eventually([&] { return compiled_.Value() == 2; }));
  EXPECT_EQ(engine_.prepares.load(), 2);  // fast tier only: never Load
  EXPECT_EQ(engine_.loads.load(), 2);
  EXPECT_EQ(reads(), 2);
  p->Offer({two, one});
  p.reset();  // waits for anything under way
  EXPECT_EQ(engine_.prepares.load(), 2);
  EXPECT_EQ(failed_.Value(), 0);
  EXPECT_EQ(dropped_.Value(), 0);
}

TEST_F(PrefetcherTest, CountsFailuresAndDropsWhatIsOverItsBounds) {
  auto p = Make({.threads = 1, .max_queued = 1, .max_module_size = 100});
  // Refused by the engine (FakeEngine: "bad..."), and unknown to the
  // control plane (the deploy ended and was refused).
  p->Offer({Hint("bad module")});
  ASSERT_TRUE(Eventually([&] { return failed_.Value() == 1; }));
  p->Offer({{std::string(64, 'f'), 10}});
  ASSERT_TRUE(Eventually([&] { return failed_.Value() == 2; }));
  EXPECT_EQ(compiled_.Value(), 0);

  p->Offer({Hint(std::string(101, 'x'))});  // over max_module_size: not even read
  EXPECT_EQ(dropped_.Value(), 1);

  // One running (held in its read), one queued, the third dropped.
  Hold(true);
  int before = reads();
  p->Offer({Hint("a")});
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return reads_ == before + 1; });
  }
  p->Offer({Hint("b"), Hint("c")});
  EXPECT_EQ(dropped_.Value(), 2);
  Hold(false);
  ASSERT_TRUE(Eventually([&] { return compiled_.Value() == 2; }));
  EXPECT_EQ(reads(), before + 2);
}

TEST_F(PrefetcherTest, RemembersABoundedNumberOfModules) {
  auto p = Make({.remember = 2});
  protocol::ModuleHint a = Hint("a"), b = Hint("b"), c = Hint("c");
  p->Offer({a, b, c});  // remembering b and c now
  ASSERT_TRUE(Eventually([&] { return compiled_.Value() == 3; }));
  p->Offer({b, c});
  p->Offer({a});  // forgotten: taken again (the engine finds it loaded)
  ASSERT_TRUE(Eventually([&] { return compiled_.Value() == 4; }));
  EXPECT_EQ(engine_.prepares.load(), 4);
}

}  // namespace
}  // namespace aether::engine
