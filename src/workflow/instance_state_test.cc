// Where a function instance's synced state lives (internal/instance_state.h):
// files under a real temp data_dir (round trips, an engine restart, which
// instances see which state, the size limit, names refused), and JetStream
// KV buckets on a real nats-server (JetStreamTest), where a second engine
// with a connection and a data_dir of its own finds the state: the move.
#include "workflow/internal/instance_state.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "common/file_io.h"
#include "workflow/jetstream_kv.h"
#include "workflow/jetstream_test_util.h"

namespace aether::workflow::internal {
namespace {

using namespace std::chrono_literals;
using workflow::testing::TempDir;

InstanceAssignment StateAssignment(std::string workflow, std::string component, int index,
                                   int64_t incarnation = 0) {
  InstanceAssignment a;
  a.id = workflow + "/" + component + "/" + std::to_string(index);
  a.workflow = std::move(workflow);
  a.component = std::move(component);
  a.incarnation = incarnation;
  return a;
}

std::unique_ptr<InstanceState> MustOpenState(const WorkflowHostOptions& options,
                                             const InstanceAssignment& a) {
  auto s = OpenInstanceState(options, a);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// The state, or "<none>" / the error, for EXPECT_EQ.
std::string Loaded(InstanceState& s) {
  Result<std::optional<std::string>> r = s.Load();
  if (!r.ok()) return r.status().ToString();
  return r->has_value() ? **r : "<none>";
}

class InstanceStateFileTest : public ::testing::Test {
 protected:
  InstanceStateFileTest() { options_.data_dir = dir_.path(); }

  TempDir dir_;
  WorkflowHostOptions options_;
};

TEST_F(InstanceStateFileTest, RoundTrip) {
  auto s = MustOpenState(options_, StateAssignment("wf", "counter", 2));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Loaded(*s), "<none>");
  // Opening and loading make nothing on disk.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "workflows"));

  ASSERT_TRUE(s->Save("one").ok());
  EXPECT_EQ(Loaded(*s), "one");
  std::string bytes("\0\xff\n two", 7);
  ASSERT_TRUE(s->Save(bytes).ok());
  EXPECT_EQ(Loaded(*s), bytes);
  // An empty state is a state, not "never synced".
  ASSERT_TRUE(s->Save("").ok());
  EXPECT_EQ(Loaded(*s), "");

  std::string path = dir_ / "workflows/wf/.state/counter.2";
  EXPECT_EQ(s->where(), "file " + path);
  ASSERT_TRUE(s->Save("on disk").ok());
  EXPECT_EQ(*ReadWholeFile<std::string>(path), "on disk");
}

// An engine restart: a new InstanceState for the same assignment.
TEST_F(InstanceStateFileTest, TheNextOneLoadsIt) {
  {
    auto first = MustOpenState(options_, StateAssignment("wf", "f", 0, 7));
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(first->Save("saved before the restart").ok());
  }
  auto second = MustOpenState(options_, StateAssignment("wf", "f", 0, 7));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(Loaded(*second), "saved before the restart");
  EXPECT_EQ(second->where(), "file " + (dir_ / "workflows/wf/.state/f.0.I7"));
}

TEST_F(InstanceStateFileTest, OthersDoNotSeeIt) {
  auto mine = MustOpenState(options_, StateAssignment("wf", "f", 1, 3));
  ASSERT_NE(mine, nullptr);
  ASSERT_TRUE(mine->Save("mine").ok());
  for (const InstanceAssignment& other :
       {StateAssignment("wf", "f", 0, 3), StateAssignment("wf", "f", 11, 3),
        StateAssignment("wf", "g", 1, 3), StateAssignment("wf", "f", 1, 4),
        StateAssignment("wf", "f", 1, 0), StateAssignment("wf2", "f", 1, 3)}) {
    auto s = MustOpenState(options_, other);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(Loaded(*s), "<none>") << other.id << " I" << other.incarnation;
    ASSERT_TRUE(s->Save("other").ok());
  }
  EXPECT_EQ(Loaded(*mine), "mine");
}

TEST_F(InstanceStateFileTest, TooLargeIsRefusedAndKeepsTheOldState) {
  auto s = MustOpenState(options_, StateAssignment("wf", "f", 0));
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Save("old").ok());
  Status st = s->Save(std::string(kMaxInstanceState + 1, 'x'));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(Loaded(*s), "old");
  std::string largest(kMaxInstanceState, 'y');
  ASSERT_TRUE(s->Save(largest).ok());
  EXPECT_EQ(Loaded(*s), largest);
}

TEST_F(InstanceStateFileTest, UnsafeNamesAreRefused) {
  InstanceAssignment dots = StateAssignment("..", "f", 0);
  InstanceAssignment slash = StateAssignment("wf", "f", 0);
  slash.workflow = "wf/..";  // disagrees with the id
  InstanceAssignment upper = StateAssignment("Wf", "f", 0);
  InstanceAssignment dot_component = StateAssignment("wf", ".state", 0);
  InstanceAssignment mismatch = StateAssignment("wf", "f", 0);
  mismatch.component = "g";
  InstanceAssignment zeros = StateAssignment("wf", "f", 0);
  zeros.id = "wf/f/00";
  InstanceAssignment negative = StateAssignment("wf", "f", 0, -1);
  for (const InstanceAssignment& a :
       {dots, slash, upper, dot_component, mismatch, zeros, negative}) {
    auto s = OpenInstanceState(options_, a);
    ASSERT_FALSE(s.ok()) << a.id;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << s.status().ToString();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "workflows"));
}

TEST_F(InstanceStateFileTest, NeedsADataDir) {
  options_.data_dir.clear();
  auto s = OpenInstanceState(options_, StateAssignment("wf", "f", 0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition) << s.status().ToString();
}

// A directory removed under a running instance is made again; a file in
// the way of one is an error that names it.
TEST_F(InstanceStateFileTest, Directories) {
  auto s = MustOpenState(options_, StateAssignment("wf", "f", 0));
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Save("1").ok());
  std::filesystem::remove_all(dir_ / "workflows");
  ASSERT_TRUE(s->Save("2").ok());
  EXPECT_EQ(Loaded(*s), "2");

  std::filesystem::remove_all(dir_ / "workflows/wf/.state");
  ASSERT_TRUE(WriteFileAtomically(dir_ / "workflows/wf/.state", "not a directory").ok());
  Status st = s->Save("3");
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find(".state is not a directory"), std::string::npos) << st.message();
}

class InstanceStateNatsTest : public workflow::testing::JetStreamTest {
 protected:
  // An engine with [nats]: its own connection, its own data_dir.
  struct Node {
    TempDir data_dir;
    WorkflowHostOptions options;
  };
  std::unique_ptr<Node> NewNode() {
    auto n = std::make_unique<Node>();
    n->options.data_dir = n->data_dir.path();
    JetStreamOptions o = Options();
    o.connect_timeout = 500ms;
    n->options.kv_buckets = KvBuckets::Create(o);
    return n;
  }
};

// The instance moves: node A saves, node B (another connection, another
// data_dir) loads. Nothing is kept in either data_dir.
TEST_F(InstanceStateNatsTest, TheStateMovesWithTheInstance) {
  auto a = NewNode();
  auto b = NewNode();
  InstanceAssignment assignment = StateAssignment("wf", "counter", 3, 5);
  {
    auto on_a = MustOpenState(a->options, assignment);
    ASSERT_NE(on_a, nullptr);
    EXPECT_EQ(Loaded(*on_a), "<none>");
    ASSERT_TRUE(on_a->Save("first").ok());
    ASSERT_TRUE(on_a->Save(std::string("\0 latest\n", 9)).ok());
    EXPECT_EQ(on_a->where(), "JetStream KV bucket <prefix>_kv_2_wf_counter_I5, key state.3");
  }
  auto on_b = MustOpenState(b->options, assignment);
  ASSERT_NE(on_b, nullptr);
  EXPECT_EQ(Loaded(*on_b), std::string("\0 latest\n", 9));
  ASSERT_TRUE(on_b->Save("").ok());
  EXPECT_EQ(Loaded(*on_b), "");
  EXPECT_FALSE(std::filesystem::exists(a->data_dir / "workflows"));
  EXPECT_FALSE(std::filesystem::exists(b->data_dir / "workflows"));

  // The bucket and key the header names: the component's, "state.<index>".
  auto bucket = b->options.kv_buckets->Open(WorkflowRef("wf", 5), "counter", kMaxInstanceState);
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  auto item = (*bucket)->Get("state.3");
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  ASSERT_TRUE(item->has_value());
  EXPECT_EQ((*item)->value, "");
}

TEST_F(InstanceStateNatsTest, OthersDoNotSeeIt) {
  auto node = NewNode();
  auto mine = MustOpenState(node->options, StateAssignment("wf", "f", 1, 3));
  ASSERT_NE(mine, nullptr);
  ASSERT_TRUE(mine->Save("mine").ok());
  for (const InstanceAssignment& other :
       {StateAssignment("wf", "f", 0, 3), StateAssignment("wf", "g", 1, 3),
        StateAssignment("wf", "f", 1, 4), StateAssignment("wf", "f", 1, 0),
        StateAssignment("wf2", "f", 1, 3)}) {
    auto s = MustOpenState(node->options, other);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(Loaded(*s), "<none>") << other.id << " I" << other.incarnation;
  }
  EXPECT_EQ(Loaded(*mine), "mine");
}

TEST_F(InstanceStateNatsTest, TheLimit) {
  auto node = NewNode();
  auto s = MustOpenState(node->options, StateAssignment("wf", "f", 0));
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Save("old").ok());
  Status st = s->Save(std::string(kMaxInstanceState + 1, 'x'));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(Loaded(*s), "old");
  // The largest state fits NATS' default max_payload (1 MiB) as well.
  std::string largest(kMaxInstanceState, 'y');
  st = s->Save(largest);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Loaded(*s), largest);
}

// NATS unreachable when the instance starts: Unavailable, which the
// caller retries; once it is back, the state is there.
TEST_F(InstanceStateNatsTest, NatsDown) {
  auto node = NewNode();
  InstanceAssignment assignment = StateAssignment("wf", "f", 0);
  {
    auto s = MustOpenState(node->options, assignment);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Save("kept").ok());
  }
  server_->Stop();
  auto down = NewNode();
  auto s = OpenInstanceState(down->options, assignment);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable) << s.status().ToString();
  ASSERT_TRUE(server_->Restart().ok());
  std::unique_ptr<InstanceState> back;
  ASSERT_TRUE(workflow::testing::Eventually(
      [&] {
        auto r = OpenInstanceState(down->options, assignment);
        if (r.ok()) back = std::move(*r);
        return r.ok();
      },
      30s));
  EXPECT_EQ(Loaded(*back), "kept");
}

}  // namespace
}  // namespace aether::workflow::internal
