// GET /api/stats: invocations per function over the last minutes
// (function_stats.h), what the dashboard plots. docs/api.md, "Stats".
#include <boost/json.hpp>

#include "control/api.h"

namespace aether::control {
namespace {

namespace json = boost::json;

json::object SampleJson(const StatsSample& s) {
  json::object fns;
  for (const auto& [name, c] : s.functions) {
    double rate = s.seconds > 0 ? static_cast<double>(c.requests) / s.seconds : 0;
    double avg = c.requests > 0 ? c.latency_ms_sum / static_cast<double>(c.requests) : 0;
    fns[name] = json::object{{"requests", c.requests},
                             {"errors", c.errors},
                             {"rate", rate},
                             {"latency_ms_avg", avg},
                             {"latency_ms_max", c.latency_ms_max}};
  }
  return {{"time", s.end_ms}, {"seconds", s.seconds}, {"functions", std::move(fns)}};
}

}  // namespace

HttpResponse ControlApi::Stats(const HttpRequest& req) {
  Result<std::optional<int64_t>> since = req.QueryInt("since");
  if (!since.ok()) return JsonError(400, "invalid_argument", since.status().message());
  const FunctionStats* stats = ctx_.gateway.stats();
  FunctionStatsOptions o = stats != nullptr ? stats->options() : FunctionStatsOptions{};
  json::array samples;
  if (stats != nullptr) {
    for (const StatsSample& s : stats->Since(since->value_or(0))) {
      samples.push_back(SampleJson(s));
    }
  }
  return JsonOk(json::object{{"interval_ms", o.interval.count()},
                             {"window_ms", o.interval.count() * static_cast<int64_t>(o.samples)},
                             {"samples", std::move(samples)}});
}

void ControlApi::RegisterStats(HttpServer& server) {
  // Memory only (at most samples × max_functions entries): on the IO thread.
  server.Route(
      "GET", "/api/stats",
      Inline("GET /api/stats", Access::kAdmin,
             [this](HttpRequest&& req, const Responder& respond) { respond(Stats(req)); }));
}

}  // namespace aether::control
