// Test helpers for WorkflowHost: one AOT engine with the aether.* imports
// and the wf_* guests loaded, a fake RemoteLink that records what leaves
// the node, assignment builders, and the options and fixture of the host
// tests (HostOptions, HostFixture).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/limits.h"
#include "common/metrics.h"
#include "common/testing/eventually.h"
#include "wasm/engine.h"
#include "wasm/test_support.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::testing {

// The engine and the guests, shared by every test of the binary (compiling
// once). Modules by guest name, e.g. "wf_echo".
class Guests {
 public:
  static Guests& Get() {
    static Guests* g = new Guests();  // never destroyed: tests may outlive statics' order
    return *g;
  }
  wasm::Engine& engine() { return *engine_; }

  Result<std::shared_ptr<const wasm::Module>> Module(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = modules_.find(name);
    if (it != modules_.end()) return it->second;
    std::vector<uint8_t> bytes = wasm::testing::ReadGuest(name);
    if (bytes.empty()) return NotFound("no guest " + name);
    ASSIGN_OR_RETURN(std::shared_ptr<const wasm::Module> m, engine_->Load(bytes));
    modules_[name] = m;
    return m;
  }

 private:
  Guests() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wfhost-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    wasm::EngineOptions eo;
    eo.cache_dir = dir_;
    eo.optimize = true;
    eo.host_functions = WorkflowHost::HostFunctions();
    engine_ = wasm::NewAotEngine(std::move(eo));
  }
  std::string dir_;
  std::unique_ptr<wasm::Engine> engine_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const wasm::Module>> modules_;
};

// A RemoteLink that records casts and answers calls with `on_call`.
class FakeRemote : public RemoteLink {
 public:
  struct Sent {
    std::string instance, source, payload;
  };

  Status Cast(const OutputTarget& target, std::string_view source, std::string_view payload,
              WaitUntil /*wait_until*/) override {
    if (on_cast) on_cast(payload);
    std::lock_guard lock(mu_);
    ++count_;
    if (keep_) sent_.push_back({target.instance, std::string(source), std::string(payload)});
    cv_.notify_all();
    return OkStatus();
  }
  void Call(const OutputTarget& target, std::string_view source, std::string_view payload,
            std::chrono::milliseconds, ReplyFn done) override {
    if (on_call) {
      done(on_call(target, payload));
      return;
    }
    (void)source;
    done(Unavailable("fake remote"));
  }

  // Waits until `n` casts arrived; false after `timeout`.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  std::vector<Sent> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  void set_keep(bool keep) {
    std::lock_guard lock(mu_);
    keep_ = keep;
  }

  std::function<Result<CallReply>(const OutputTarget&, std::string_view)> on_call;
  std::function<void(std::string_view payload)> on_cast;  // set before use, then read-only

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Sent> sent_;
  size_t count_ = 0;
  bool keep_ = true;
};

inline constexpr const char* kWf = "wf-test";
inline constexpr const char* kNode = "n1";

inline std::string Id(const std::string& component, int index = 0) {
  return std::string(kWf) + "/" + component + "/" + std::to_string(index);
}

// A function instance of guest `guest` (its function name and sha256 both
// name the guest: the test module source looks them up by name).
inline InstanceAssignment Fn(const std::string& component, const std::string& guest,
                             int index = 0) {
  InstanceAssignment a;
  a.id = Id(component, index);
  a.workflow = kWf;
  a.component = component;
  a.kind = InstanceAssignment::Kind::kFunction;
  a.function = guest;
  a.sha256 = guest;
  return a;
}

inline OutputTarget Local(const std::string& instance) { return {instance, kNode, ""}; }

// An http-ingress `component` whose requests go to `target` (a local instance).
inline InstanceAssignment IngressOf(const std::string& component, ResourceConfigMap config,
                                    const std::string& target) {
  InstanceAssignment a;
  a.id = Id(component);
  a.workflow = kWf;
  a.component = component;
  a.kind = InstanceAssignment::Kind::kResource;
  a.class_type = "http-ingress";
  a.configurations = std::move(config);
  a.outputs["new_request"] = {Local(target)};
  return a;
}
inline OutputTarget Remote(const std::string& instance) {
  return {instance, "n2", "http://127.0.0.1:1"};
}

// Options with the shared engine, the guests as modules, events recorded.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  std::vector<std::string> Events() {
    std::lock_guard lock(mu);
    return events;
  }
};

inline WorkflowHostOptions TestOptions(RemoteLink* remote, Recorder* events) {
  WorkflowHostOptions o;
  o.engine = &Guests::Get().engine();
  o.node_id = kNode;
  o.remote = remote;
  o.threads = 4;
  o.module = [](const std::string& function, const std::string&) {
    return Guests::Get().Module(function);
  };
  if (events != nullptr) {
    o.post_event = [events](std::string body) {
      std::lock_guard lock(events->mu);
      events->events.push_back(std::move(body));
    };
  }
  return o;
}

using aether::testing::Eventually;

// What the host fixtures vary; the rest is TestOptions.
struct HostSettings {
  size_t mailbox = 1024;
  std::chrono::milliseconds send_wait = kDefaultSendWait;
  std::chrono::milliseconds timeout{2000};  // the node's exec timeout
  Clock* clock = &Clock::Real();            // outlives the host
};

// TestOptions with `settings` and the metrics in `metrics` (may be null).
inline WorkflowHostOptions HostOptions(RemoteLink* remote, Recorder* events,
                                       MetricsRegistry* metrics, const HostSettings& settings) {
  WorkflowHostOptions o = TestOptions(remote, events);
  o.mailbox_length = settings.mailbox;
  o.send_wait = settings.send_wait;
  o.timeout = settings.timeout;
  o.clock = settings.clock;
  o.metrics = metrics;
  return o;
}

// A fixture of one host over a FakeRemote, with its metrics and events
// recorded; Make() creates it, TearDown stops and destroys it (before the
// members of a derived fixture, e.g. its FakeClock, go).
class HostFixture : public ::testing::Test {
 protected:
  void Make(const HostSettings& settings) {
    auto h = WorkflowHost::Create(HostOptions(&remote_, &events_, &metrics_, settings));
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    host_ = std::move(*h);
  }
  void TearDown() override {
    if (host_) host_->Stop();
    host_.reset();
  }
  void ApplyAndWait(std::vector<InstanceAssignment> instances);
  // Casts `n` events from outside (as the dataplane does: never waiting),
  // retrying while the mailbox is full; event i carries payload(i).
  void CastAll(const std::string& id, int n, const std::function<std::string(int)>& payload);

  FakeRemote remote_;
  Recorder events_;
  MetricsRegistry metrics_;  // outlives host_
  std::unique_ptr<WorkflowHost> host_;
};

inline std::optional<InstanceStatus> StatusOf(const WorkflowHost& host, const std::string& id) {
  for (InstanceStatus& s : host.Statuses()) {
    if (s.id == id) return s;
  }
  return std::nullopt;
}

inline bool Running(const WorkflowHost& host, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    auto s = StatusOf(host, id);
    if (!s || s->state != "running") return false;
  }
  return true;
}

// Applies `instances` and waits until every one of them runs (a gtest
// assertion failure, naming the first status's error, when they do not).
inline ::testing::AssertionResult ApplyAndWaitRunning(WorkflowHost& host,
                                                      std::vector<InstanceAssignment> instances) {
  std::vector<std::string> ids;
  ids.reserve(instances.size());
  for (const auto& a : instances) ids.push_back(a.id);
  host.Apply(std::move(instances));
  if (Eventually([&] { return Running(host, ids); })) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "not running; first status: "
         << (host.Statuses().empty() ? "-" : host.Statuses()[0].last_error);
}

// A blocking Call for tests: the reply as it came, or (CallSync) its bytes.
inline Result<CallReply> CallSyncReply(
    WorkflowHost& host, const std::string& instance, std::string_view payload,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<CallReply>> out;
  host.Call(instance, "test", payload, timeout, [&](Result<CallReply> r) {
    std::lock_guard lock(mu);
    out.emplace(std::move(r));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}
inline Result<std::string> CallSync(WorkflowHost& host, const std::string& instance,
                                    std::string_view payload,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  Result<CallReply> r = CallSyncReply(host, instance, payload, timeout);
  if (!r.ok()) return r.status();
  return std::move(r->bytes);
}

inline void HostFixture::ApplyAndWait(std::vector<InstanceAssignment> instances) {
  ASSERT_TRUE(ApplyAndWaitRunning(*host_, std::move(instances)));
}

inline void HostFixture::CastAll(const std::string& id, int n,
                                 const std::function<std::string(int)>& payload) {
  for (int i = 0; i < n; ++i) {
    Status st;
    while ((st = host_->Cast(id, "test", payload(i))).code() == Code::kResourceExhausted) {
      std::this_thread::yield();
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
}

}  // namespace aether::workflow::testing
