// Test-only: a WorkflowHost that records what it is asked to do, for the
// dataplane and poller tests (no wasm, no actors); node identities and the
// peer grants a control plane would hand out.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/node_credential.h"
#include "common/node_identity.h"
#include "common/sha256.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::testing {

// A joined node in memory, with a secret of its own.
inline std::unique_ptr<NodeIdentity> TestIdentity(const std::string& node_id) {
  return std::make_unique<NodeIdentity>(node_id, "", Sha256Hex("secret of " + node_id));
}

// What the control plane tells node `receiver` about `sender` when
// `sender`'s outputs reach `instances` there.
inline PeerGrant GrantFor(const NodeIdentity& sender, const std::string& receiver,
                          std::set<std::string, std::less<>> instances) {
  return PeerGrant{sender.node_id(), Sha256Hex(PairToken(sender.dataplane_key(), receiver)),
                   std::move(instances)};
}

class FakeHost final : public WorkflowHost {
 public:
  struct Event {
    std::string instance, source, payload;
  };

  ~FakeHost() override { Stop(); }

  // Instances that exist here; casts to others are NotFound.
  void AddInstance(const std::string& id) {
    std::lock_guard lock(mu_);
    instances_[id] = true;
  }
  // Casts beyond this many are ResourceExhausted (a full mailbox).
  void SetCapacity(size_t n) {
    std::lock_guard lock(mu_);
    capacity_ = n;
  }

  void Apply(std::vector<InstanceAssignment> instances) override {
    std::lock_guard lock(mu_);
    applied_.push_back(std::move(instances));
    cv_.notify_all();
  }

  Status Cast(std::string_view instance, std::string_view source,
              std::string_view payload) override {
    std::lock_guard lock(mu_);
    if (!instances_.count(std::string(instance))) {
      return NotFound("no instance " + std::string(instance));
    }
    if (casts_ >= capacity_) return ResourceExhausted("full");
    ++casts_;
    if (keep_events_) {
      events_.push_back({std::string(instance), std::string(source), std::string(payload)});
    }
    cv_.notify_all();
    return OkStatus();
  }

  // Payload "fail" -> Internal, "full" -> ResourceExhausted, "sleep:N" ->
  // replies after N ms or DeadlineExceeded when `timeout` is shorter,
  // "together:N" -> replies "together" once N such calls are here at the
  // same time (DeadlineExceeded when `timeout` passes first), "gone" ->
  // Unavailable, "none" -> no reply (CallReply::none); anything else echoes
  // "<instance>|<source>|<payload>".
  void Call(std::string_view instance, std::string_view source, std::string_view payload,
            std::chrono::milliseconds timeout, ReplyFn done) override {
    {
      std::lock_guard lock(mu_);
      last_call_timeout_ = timeout;
      if (!instances_.count(std::string(instance))) {
        return done(NotFound("no instance " + std::string(instance)));
      }
    }
    if (payload == "fail") return done(Internal("handler trapped: unreachable"));
    if (payload == "full") return done(ResourceExhausted("mailbox full"));
    if (payload == "gone") return done(Unavailable("instance restarting"));
    if (payload.starts_with("sleep:")) {
      int ms = std::stoi(std::string(payload.substr(6)));
      std::lock_guard lock(mu_);
      threads_.emplace_back([ms, timeout, done = std::move(done)] {
        if (timeout.count() > 0 && timeout.count() < ms) {
          std::this_thread::sleep_for(timeout);
          return done(DeadlineExceeded("timed out"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        done(CallReply{"slept"});
      });
      return;
    }
    if (payload.starts_with("together:")) {
      size_t n = std::stoul(std::string(payload.substr(9)));
      std::lock_guard lock(mu_);
      ++together_;
      cv_.notify_all();
      threads_.emplace_back([this, n, timeout, done = std::move(done)] {
        std::unique_lock lock(mu_);
        bool met = cv_.wait_for(lock, timeout, [&] { return together_ >= n; });
        size_t seen = together_;
        lock.unlock();
        if (!met)
          return done(
              DeadlineExceeded(std::to_string(seen) + " calls met, not " + std::to_string(n)));
        done(CallReply{"together"});
      });
      return;
    }
    if (payload == "none") return done(CallReply{.bytes = {}, .none = true});
    done(CallReply{std::string(instance) + "|" + std::string(source) + "|" + std::string(payload)});
  }

  using WorkflowHost::Ingress;
  void Ingress(std::string_view workflow, std::string_view path, std::string_view method,
               std::string_view idempotency_key, const IngressHttp* /*http*/, std::string body,
               std::function<void(IngressReply)> done) override {
    if (workflow != "shop") return done(IngressReply{404, "application/json", "{}"});
    if (method == "DELETE") return done(IngressReply{405, "application/json", "{}"});
    std::string key =
        idempotency_key.empty() ? std::string() : " key=" + std::string(idempotency_key);
    done(IngressReply{200, "text/plain",
                      std::string(method) + " " + std::string(path) + " " + body + key});
  }

  // Echoes what reached it: "portal <mode> <path> token=<token>
  // timeout=<timeout_ms> <body>" (404 for a workflow other than "shop").
  void Portal(std::string_view workflow, std::string_view path, std::string_view method,
              PortalRequest portal, std::string body,
              std::function<void(IngressReply)> done) override {
    if (workflow != "shop") return done(IngressReply{404, "application/json", "{}"});
    done(IngressReply{200, "text/plain",
                      "portal " + portal.mode + " " + std::string(method) + " " +
                          std::string(path) + " token=" + portal.token +
                          " timeout=" + portal.timeout_ms + " " + body});
  }

  std::vector<InstanceStatus> Statuses() const override {
    std::lock_guard lock(mu_);
    return statuses_;
  }
  void SetStatuses(std::vector<InstanceStatus> s) {
    std::lock_guard lock(mu_);
    statuses_ = std::move(s);
  }
  void SetRemote(RemoteLink*) override {}
  void AddDataplaneDropped(int64_t n) override { dataplane_dropped_ += n; }
  int64_t dataplane_dropped() const { return dataplane_dropped_.load(); }
  void Stop() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  // Waits until `n` casts arrived (or `timeout`); returns the count.
  size_t WaitCasts(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return casts_ >= n; });
    return casts_;
  }
  size_t WaitApplied(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return applied_.size() >= n; });
    return applied_.size();
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<std::vector<InstanceAssignment>> applied() const {
    std::lock_guard lock(mu_);
    return applied_;
  }
  std::chrono::milliseconds last_call_timeout() const {
    std::lock_guard lock(mu_);
    return last_call_timeout_;
  }
  // Counting only (throughput runs): events() stays empty.
  void KeepEvents(bool keep) {
    std::lock_guard lock(mu_);
    keep_events_ = keep;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, bool> instances_;
  size_t capacity_ = SIZE_MAX;
  size_t casts_ = 0;
  size_t together_ = 0;  // "together:N" calls that arrived
  bool keep_events_ = true;
  std::vector<Event> events_;
  std::vector<std::vector<InstanceAssignment>> applied_;
  std::vector<InstanceStatus> statuses_;
  std::chrono::milliseconds last_call_timeout_{-1};
  std::vector<std::thread> threads_;
  std::atomic<int64_t> dataplane_dropped_{0};
};

}  // namespace aether::workflow::testing
