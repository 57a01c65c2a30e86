#include "engine/api.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <mutex>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/timer.h"
#include "engine/execute_json.h"
#include "wasm/guest_thread.h"

namespace aether::engine {
namespace {

// Guest stderr copied into one log line.
constexpr size_t kMaxStderrInLog = 1024;

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse ToHttp(ExecuteResponse&& r) { return Json(r.status, std::move(r.body)); }

using Clock = std::chrono::steady_clock;

// Threads that run the compile a request waits for (the engine bounds
// concurrent compiles itself), and hurried loads queued for them at most
// (past that, the load still happens on the registry's own loader).
constexpr size_t kLoaderThreads = 2;
constexpr size_t kLoaderQueue = 1024;

int64_t Ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

HttpResponse RetryLater(ExecuteResponse&& r) {
  HttpResponse h = ToHttp(std::move(r));
  h.headers.emplace_back("Retry-After", "1");
  return h;
}

std::string_view LogExcerpt(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s.size() > kMaxStderrInLog ? s.substr(0, kMaxStderrInLog) : s;
}

}  // namespace

ApiOptions ApiOptions::FromConfig(const RuntimeConfig& runtime, std::string version) {
  ApiOptions o;
  o.exec_timeout = runtime.exec_timeout;
  o.memory_limit = runtime.memory_limit;
  o.max_input = runtime.max_input;
  o.max_output = runtime.max_output;
  o.inline_budget = runtime.inline_budget;
  o.version = std::move(version);
  return o;
}

struct Api::Life {
  std::mutex mu;
  Api* api = nullptr;
};

Api::Api(ApiOptions options, wasm::Engine& engine, FunctionRegistry& functions, Executor& executor,
         MetricsRegistry& registry, EngineMetrics& metrics, ExecutionObserver* observer)
    : options_(std::move(options)),
      engine_(engine),
      functions_(functions),
      executor_(executor),
      registry_(registry),
      metrics_(metrics),
      observer_(observer),
      life_(std::make_shared<Life>()),
      deadlines_(std::make_unique<Timer>()),
      loaders_(std::make_unique<WorkQueue>(
          WorkQueueOptions{"the engine's module loaders", kLoaderThreads, kLoaderQueue, 0})) {
  life_->api = this;
  // aether_queue_depth: read from the executor when scraped.
  scrape_hook_ = registry_.OnScrape([this](Scrape& scrape) {
    scrape.Add(metrics_.queue_depth, static_cast<double>(executor_.queue_depth()));
  });
}

Api::~Api() {
  {
    std::lock_guard lock(life_->mu);
    life_->api = nullptr;
  }
  loaders_->Stop();  // a shutdown must not wait for queued compiles
  deadlines_->Stop();
}

// One /execute request from arrival to answer.
struct Api::Pending {
  std::shared_ptr<Function> fn;
  std::string input;
  Responder respond;
  Clock::time_point arrived;
  std::chrono::nanoseconds timeout;  // the function's, capped by the node's
  // Set by whichever answers a request waiting for its module first: the
  // load finishing (which submits it) or its deadline.
  std::atomic<bool> claimed{false};
};

void Api::Register(HttpServer& server) {
  server.Route("POST", "/execute",
               [this](HttpRequest&& req, Responder respond) { Execute(std::move(req), respond); });
  server.Route("GET", "/health",
               [this](HttpRequest&& req, Responder respond) { Health(std::move(req), respond); });
  server.Route("GET", "/metrics",
               [this](HttpRequest&& req, Responder respond) { Metrics(std::move(req), respond); });
  server.Route("GET", "/functions", [this](HttpRequest&& req, Responder respond) {
    Functions(std::move(req), respond);
  });
}

void Api::Execute(HttpRequest&& request, Responder respond) {
  Result<ExecuteRequest> parsed = ParseExecuteRequest(request.body);
  if (!parsed.ok()) {
    metrics_.CountRequest("", 400);
    return respond(ToHttp(MakeError(400, "invalid_argument", parsed.status().message())));
  }
  ExecuteRequest& req = *parsed;
  if (req.input.size() > options_.max_input) {
    metrics_.CountRequest("", 413);
    return respond(
        ToHttp(MakeError(413, "payload_too_large",
                         fmt::format("input is {} bytes; the limit ([runtime] max_input) is {}",
                                     req.input.size(), options_.max_input))));
  }
  std::shared_ptr<Function> fn = functions_.Find(req.function);
  if (fn == nullptr) {
    metrics_.CountRequest("", 404);
    return respond(ToHttp(
        MakeError(404, "not_found", fmt::format("function \"{}\" not found", req.function))));
  }
  auto job = std::make_shared<Pending>();
  job->arrived = Clock::now();
  const FunctionSettings& settings = fn->settings();
  job->timeout = EffectiveExecTimeout(settings.timeout, options_.exec_timeout);
  job->fn = std::move(fn);
  job->input = std::move(req.input);
  job->respond = std::move(respond);
  if (job->fn->loaded()) {
    metrics_.cache_hits.Inc();
    if (RunInline(*job)) return;
    return Submit(job);
  }
  metrics_.cache_misses.Inc();
  uint64_t deadline = deadlines_->At(job->arrived + job->timeout, [this, job] {
    if (job->claimed.exchange(true)) return;
    const std::string& name = job->fn->name();
    metrics_.CountRequest(name, 503);
    job->respond(RetryLater(MakeError(
        503, "loading",
        fmt::format("function \"{}\" is still being compiled after {} ms (its timeout); retry "
                    "shortly",
                    name, Ms(Clock::now() - job->arrived)))));
  });
  job->fn->WhenLoaded([life = life_, job, deadline] {
    std::lock_guard lock(life->mu);
    if (life->api == nullptr || job->claimed.exchange(true)) return;
    life->api->deadlines_->Cancel(deadline);
    life->api->Submit(job);
  });
  std::shared_ptr<Function> fn_ref = job->fn;
  // When full, the background loader gets to it in turn; the deadline above
  // answers the request meanwhile.
  (void)loaders_->Post([fn_ref] { fn_ref->LoadIfQueued(); });
}

void Api::Submit(const std::shared_ptr<Pending>& job) {
  if (!executor_.TrySubmit([this, job] { (void)Run(*job); })) {
    metrics_.rejected.Inc();
    metrics_.CountRequest(job->fn->name(), 503);
    return job->respond(RetryLater(MakeError(
        503, "overloaded",
        fmt::format("the engine is overloaded: {} executions are queued already; retry later",
                    executor_.queue_capacity()))));
  }
}

bool Api::RunInline(Pending& job) {
  if (options_.inline_budget.count() <= 0 || !wasm::OnGuestThread() ||
      job.fn->quick_runs().load(std::memory_order_relaxed) < kQuickRunsBeforeInline) {
    return false;
  }
  if (Run(job, options_.inline_budget)) {
    metrics_.inline_answered.Inc();
    return true;
  }
  metrics_.inline_handed_off.Inc();
  return false;
}

void Api::CountQuick(Function& function, const Result<wasm::RunResult>& run) {
  if (options_.inline_budget.count() <= 0) return;
  std::atomic<uint32_t>& quick = function.quick_runs();
  double half_budget_ms =
      std::chrono::duration<double, std::milli>(options_.inline_budget).count() / 2;
  if (!run.ok() || run->exec_ms > half_budget_ms) {
    quick.store(0, std::memory_order_relaxed);
  } else if (quick.load(std::memory_order_relaxed) < kQuickRunsBeforeInline) {
    quick.fetch_add(1, std::memory_order_relaxed);
  }
}

bool Api::Run(Pending& job, std::chrono::nanoseconds budget) {
  Function& function = *job.fn;
  const std::string& name = function.name();
  const Responder& respond = job.respond;
  // Waiting (for a worker, for the compile) used part of the timeout.
  Clock::duration waited = Clock::now() - job.arrived;
  if (waited >= job.timeout) {
    metrics_.rejected.Inc();
    metrics_.CountRequest(name, 503);
    respond(RetryLater(MakeError(
        503, "overloaded",
        fmt::format("the request waited {} ms for a worker, its whole timeout ({} ms); retry "
                    "later",
                    Ms(waited), Ms(job.timeout)))));
    return true;
  }
  Result<std::shared_ptr<const wasm::Module>> module = function.WaitModule();
  if (!module.ok()) {
    metrics_.CountRequest(name, 500);
    respond(ToHttp(MakeLoadErrorResponse(name, module.status())));
    return true;
  }
  // The optimized tier replaces the fast one once the background compile is done.
  std::shared_ptr<const wasm::Module> current = engine_.Current(*module);

  // A function's own limits apply when they are below the node's.
  const FunctionSettings& settings = function.settings();
  wasm::RunOptions ro;
  ro.args.push_back(name);
  ro.env = settings.env;
  ro.limits.memory_bytes = settings.memory_limit != 0
                               ? std::min(settings.memory_limit, options_.memory_limit)
                               : options_.memory_limit;
  ro.limits.timeout = job.timeout - std::chrono::duration_cast<std::chrono::nanoseconds>(waited);
  const bool limited = budget.count() > 0 && budget < ro.limits.timeout;
  if (limited) ro.limits.timeout = budget;
  ro.stdin_data = job.input;
  ro.max_output_bytes = options_.max_output;

  metrics_.live_instances.Inc();
  Result<wasm::RunResult> run = engine_.Run(*current, ro);
  metrics_.live_instances.Dec();
  CountQuick(function, run);
  if (limited && run.ok() && run->trap == wasm::TrapKind::kTimeout) return false;

  ExecuteResponse resp = MakeRunResponse(name, run, job.timeout);
  // One lookup for both (a shared lock both IO threads take per request).
  EngineMetrics::FunctionMetrics* fm = run.ok() ? &metrics_.For(name) : nullptr;
  if (run.ok()) {
    if (run->trap != wasm::TrapKind::kNone) {
      metrics_.CountTrap(run->trap);
      if (observer_ != nullptr) observer_->ExecutionFailed(name, run->trap);
    }
    fm->execution_seconds.Observe(run->exec_ms / 1000.0);
    if (resp.status != 200) {
      LOG_INFO("function {} failed ({}): exit code {}, trap {}; stderr: {}", name, resp.code,
               run->exit_code, wasm::TrapName(run->trap), LogExcerpt(run->stderr_data));
    } else if (!run->stderr_data.empty() && spdlog::should_log(spdlog::level::debug)) {
      // Not LOG_DEBUG: that macro is compiled out unless SPDLOG_ACTIVE_LEVEL
      // says otherwise, and `[log] level = "debug"` should show guest stderr.
      spdlog::debug("function {} stderr: {}", name, LogExcerpt(run->stderr_data));
    }
  } else {
    LOG_INFO("function {} could not run: {}", name, run.status().message());
  }
  if (resp.status == 200 && fm != nullptr) {
    fm->ok.Inc();
  } else {
    metrics_.CountRequest(name, resp.status);
  }
  respond(ToHttp(std::move(resp)));
  return true;
}

void Api::Health(HttpRequest&&, Responder respond) {
  boost::json::object health{{"status", "ok"},
                             {"version", options_.version},
                             // int64 (not size_t): clients read them with as_int64().
                             {"functions", static_cast<int64_t>(functions_.size())},
                             {"workers", static_cast<int64_t>(executor_.workers())},
                             {"busy", static_cast<int64_t>(executor_.busy())},
                             {"queue", static_cast<int64_t>(executor_.queue_depth())},
                             {"queue_capacity", static_cast<int64_t>(executor_.queue_capacity())}};
  if (extras_.health) extras_.health(health);
  respond(Json(200, ToJson(health)));
}

void Api::Metrics(HttpRequest&&, Responder respond) {
  HttpResponse r;
  r.content_type = kPrometheusContentType;
  r.body = registry_.Render();
  respond(std::move(r));
}

void Api::Functions(HttpRequest&&, Responder respond) {
  boost::json::array list;
  for (const FunctionInfo& f : functions_.List()) {
    boost::json::object o;
    o["name"] = f.name;
    o["sha256"] = f.sha256;
    o["size"] = f.size;
    o["state"] = f.state;
    if (!f.tier.empty()) o["tier"] = f.tier;
    if (!f.error.empty()) o["error"] = SanitizeUtf8(f.error);
    list.push_back(std::move(o));
  }
  boost::json::object root;
  root["functions"] = std::move(list);
  respond(Json(200, ToJson(root)));
}

}  // namespace aether::engine
