#include "cli/bench_runner.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "cli/bench_load.h"
#include "common/http_client.h"
#include "common/json_util.h"

namespace aether::cli::bench {
namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

constexpr double kPollInterval_s = 0.1;
// The longest the loop sleeps, so an interrupt is seen within this.
constexpr double kMaxSleep_s = 0.05;

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

// A workflow that was accepted and not yet deleted.
struct Live {
  std::string id;
  double end_s = 0;
  // When the apply was sent: the engines may start the instances before
  // the control plane's answer arrives.
  double applied_s = 0;
  bool running = false;
  bool done = false;
  std::unique_ptr<LoadWorker> load;
};

class Runner {
 public:
  Runner(const Remote& remote, const RunConfig& config, CsvWriter* csv,
         const std::atomic<bool>& interrupted)
      : remote_(remote),
        c_(config),
        csv_(csv),
        interrupted_(interrupted),
        rng_(config.seed),
        http_(NewHttpClient({.max_idle_per_host = 64})),
        payload_(config.payload_size, 'x') {}

  Result<RunTotals> Run() {
    start_ = Steady::now();
    unix_start_ =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    Status fatal = Loop();
    totals_.seconds = std::min(Elapsed(), c_.duration_s);
    for (Live& w : live_) End(w, "workflow:end");
    for (const std::string& name : unsure_) Delete(name);
    if (!fatal.ok()) return fatal;
    return std::move(totals_);
  }

 private:
  double Elapsed() const { return SecondsOf(Steady::now() - start_); }

  void Row(std::string_view metric, std::string_view target, const std::string& value) {
    RowAt(Elapsed(), metric, target, value);
    if (c_.verbose) {
      std::fprintf(stderr, "%9.3f s  %-18s %s %s\n", Elapsed(), std::string(metric).c_str(),
                   std::string(target).c_str(), value.c_str());
    }
  }
  void RowAt(double elapsed_s, std::string_view metric, std::string_view target,
             const std::string& value) {
    if (csv_ != nullptr) csv_->Add(unix_start_ + elapsed_s, elapsed_s, metric, target, value);
  }

  Status Loop() {
    size_t next = 0;
    double next_poll = 0;
    while (!interrupted_.load()) {
      double now = Elapsed();
      if (now >= c_.duration_s) break;
      while (next < c_.schedule.size() && c_.schedule[next].start_s <= now) {
        RETURN_IF_ERROR(Start(c_.schedule[next++]));
      }
      for (Live& w : live_) {
        if (w.end_s <= now) End(w, "workflow:end");
      }
      if (now >= next_poll) {
        Poll();
        next_poll = Elapsed() + kPollInterval_s;
      }
      std::erase_if(live_, [](const Live& w) { return w.done; });
      double wake = std::min(c_.duration_s, next_poll);
      if (next < c_.schedule.size()) wake = std::min(wake, c_.schedule[next].start_s);
      for (const Live& w : live_) wake = std::min(wake, w.end_s);
      double nap = std::clamp(wake - Elapsed(), 0.0, kMaxSleep_s);
      std::this_thread::sleep_for(std::chrono::duration<double>(nap));
    }
    return OkStatus();
  }

  // Applies one workflow. Only a spec the control plane calls invalid, or
  // a token it refuses, stops the run: every later apply would fail alike.
  Status Start(const Arrival& a) {
    uint64_t seq = seq_++;
    GenerateContext ctx{
        .name = c_.name_prefix + "-" + std::to_string(seq), .seq = seq, .function = c_.function};
    ASSIGN_OR_RETURN(json::object spec, GenerateSpec(c_.type, ctx, rng_));
    std::string name = Str(spec, "name");
    std::string target = name.empty() ? "#" + std::to_string(seq) : name;
    size_t components = 0;
    for (const char* list : {"functions", "resources"}) {
      if (const json::value* v = spec.if_contains(list); v != nullptr && v->is_array()) {
        components += v->as_array().size();
      }
    }
    ++totals_.requested;
    Row("workflow:request", target, std::to_string(components));
    double sent_s = Elapsed();
    Steady::time_point sent = Steady::now();
    auto r =
        remote_.Send("POST", "/api/workflows", ToJson(spec), "application/json", c_.api_timeout);
    double ms = SecondsOf(Steady::now() - sent) * 1000;
    if (r.ok() && r->status == 201) {
      auto body = ParseJson(r->body);
      std::string id = body.ok() && body->is_object() ? Str(body->as_object(), "id") : name;
      ++totals_.accepted;
      totals_.apply_ms.Add(ms);
      Row("workflow:accepted", id, Fixed(ms, 3));
      Live w;
      w.id = id;
      w.end_s = a.end_s;
      w.applied_s = sent_s;
      live_.push_back(std::move(w));
      return OkStatus();
    }
    Status st = r.ok() ? remote_.ErrorFor(*r) : r.status();
    if (r.ok() && Remote::ErrorCode(*r) == "invalid_spec") {
      return InvalidArgument("the control plane refused the spec of " + target + ": " +
                             st.message());
    }
    if (st.code() == Code::kUnauthenticated) return st;
    // No answer: it may have been created all the same.
    if (!r.ok() && !name.empty()) unsure_.push_back(name);
    ++totals_.refused;
    if (totals_.first_refusal.empty()) totals_.first_refusal = st.message();
    Row("workflow:refused", target, st.message());
    return OkStatus();
  }

  // One list call for the states of every workflow still pending.
  void Poll() {
    if (std::none_of(live_.begin(), live_.end(), [](const Live& w) { return !w.running; })) {
      return;
    }
    auto list = remote_.Call("GET", "/api/workflows", {}, "application/json", c_.api_timeout);
    std::map<std::string, std::pair<std::string, std::string>> states;  // id -> state, reason
    if (list.ok() && list->is_object()) {
      if (const json::value* ws = list->as_object().if_contains("workflows");
          ws != nullptr && ws->is_array()) {
        for (const json::value& w : ws->as_array()) {
          if (!w.is_object()) continue;
          const json::object& o = w.as_object();
          states[Str(o, "id")] = {Str(o, "state"), Str(o, "reason")};
        }
      }
    }
    for (Live& w : live_) {
      if (w.running || w.done) continue;
      auto it = states.find(w.id);
      if (it != states.end() && it->second.first == "running") {
        Ready(w);
      } else if (Elapsed() - w.applied_s > SecondsOf(c_.ready_timeout)) {
        ++totals_.not_ready;
        std::string why = it == states.end() ? (list.ok() ? "not listed" : list.status().message())
                                             : it->second.first + ": " + it->second.second;
        if (totals_.first_refusal.empty()) {
          totals_.first_refusal = w.id + " not running in time (" + why + ")";
        }
        Row("workflow:not-ready", w.id, why);
        End(w, "workflow:deleted");
      }
    }
  }

  void Ready(Live& w) {
    w.running = true;
    double ms = (Elapsed() - w.applied_s) * 1000;
    totals_.ready_ms.Add(ms);
    Row("workflow:ready", w.id, Fixed(ms, 3));
    if (c_.rate <= 0) return;
    auto shown = remote_.Call("GET", "/api/workflows/" + UrlEncode(w.id), {}, "application/json",
                              c_.api_timeout);
    std::string url;
    if (shown.ok() && shown->is_object()) {
      const json::value* ingress = shown->as_object().if_contains("ingress");
      if (ingress != nullptr && ingress->is_array() && !ingress->as_array().empty() &&
          ingress->as_array()[0].is_object()) {
        url = Str(ingress->as_array()[0].as_object(), "url");
      }
    }
    if (url.empty()) {
      Row("workflow:no-ingress", w.id, shown.ok() ? "" : shown.status().message());
      return;
    }
    w.load = std::make_unique<LoadWorker>(
        *http_, LoadOptions{.url = url,
                            .rate = c_.rate,
                            .payload = payload_,
                            .expect_echo = c_.type.kind != WorkflowKind::kJsonSpec,
                            .timeout = c_.request_timeout,
                            .run_start = start_});
  }

  void End(Live& w, std::string_view metric) {
    if (w.done) return;
    w.done = true;
    if (!w.running && metric == "workflow:end") ++totals_.ended_pending;
    if (w.load != nullptr) {
      LoadResult r = w.load->Stop();
      w.load.reset();
      for (const RequestSample& s : r.samples) {
        RowAt(s.elapsed_s, s.ok ? "request:latency_ms" : "request:error", w.id,
              s.ok ? Fixed(s.ms, 3) : s.error);
      }
      totals_.ok += r.ok;
      totals_.errors += r.errors;
      totals_.requests += r.ok + r.errors;
      totals_.latency_ms.Merge(r.latency_ms);
      if (totals_.first_error.empty()) totals_.first_error = r.first_error;
      Row("workflow:requests", w.id, std::to_string(r.ok + r.errors));
      Row("workflow:errors", w.id, std::to_string(r.errors));
    }
    Delete(w.id);
    Row(metric, w.id, Fixed(Elapsed() - w.applied_s, 3));
  }

  // Deletes, once more after a failure; 404 means it is gone already.
  void Delete(const std::string& id) {
    Status last;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto r = remote_.Send("DELETE", "/api/workflows/" + UrlEncode(id), {}, "application/json",
                            c_.api_timeout);
      if (r.ok() && (r->status == 200 || r->status == 404)) return;
      last = r.ok() ? remote_.ErrorFor(*r) : r.status();
    }
    ++totals_.delete_failures;
    std::fprintf(stderr, "aether bench: could not delete workflow %s: %s\n", id.c_str(),
                 last.message().c_str());
  }

  const Remote& remote_;
  const RunConfig& c_;
  CsvWriter* csv_;
  const std::atomic<bool>& interrupted_;
  std::mt19937_64 rng_;
  std::unique_ptr<HttpClient> http_;  // shared by the load workers
  std::string payload_;
  Steady::time_point start_;
  double unix_start_ = 0;
  uint64_t seq_ = 0;
  std::vector<Live> live_;
  std::vector<std::string> unsure_;
  RunTotals totals_;
};

}  // namespace

Result<RunTotals> RunBench(const Remote& remote, const RunConfig& config, CsvWriter* csv,
                           const std::atomic<bool>& interrupted) {
  Runner runner(remote, config, csv, interrupted);
  return runner.Run();
}

}  // namespace aether::cli::bench
