#include "control/gateway.h"

#include <boost/json.hpp>

#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"

namespace aether::control {
namespace {

namespace json = boost::json;

// Only failures before the request left are retried elsewhere: a request
// that reached an engine may have run, and running it twice is not ours to
// decide.
bool NotSent(const Status& st) {
  return st.code() == Code::kUnavailable &&
         (st.message().starts_with("cannot connect") || st.message().starts_with("cannot resolve"));
}

// `body` is a JSON object (already parsed); appends "function": name.
std::string ForwardBody(std::string_view body, const std::string& name) {
  size_t close = body.find_last_of('}');
  size_t open = body.find_first_of('{');
  bool empty = body.find_first_not_of(" \t\r\n", open + 1) == close;
  std::string out;
  out.reserve(body.size() + name.size() + 16);
  out.append(body.substr(0, close));
  out += empty ? "\"function\":" : ",\"function\":";
  out += ToJson(json::value(name));
  out += '}';
  return out;
}

HttpResponse ShuttingDown() {
  return JsonError(503, "unavailable", "the control plane is shutting down");
}

}  // namespace

Gateway::Gateway(FunctionRegistry& functions, NodeRegistry& nodes, ControlMetrics& metrics,
                 GatewayOptions options)
    : functions_(functions),
      nodes_(nodes),
      metrics_(metrics),
      options_(options),
      own_http_(options.http != nullptr
                    ? nullptr
                    : NewHttpClient({.max_idle_per_host = options.max_idle_per_node})),
      http_(options.http != nullptr ? *options.http : *own_http_),
      workers_(
          WorkQueueOptions{"the gateway's forward queue", options.threads, options.max_queue, 0}) {}

Gateway::~Gateway() { Stop(); }

void Gateway::Stop() {
  stopping_ = true;
  workers_.Drain();  // the queued forwards answer 503 (stopping_)
}

void Gateway::Invoke(std::string name, std::string body, Responder respond) {
  auto start = std::chrono::steady_clock::now();
  auto task = [this, name = std::move(name), body = std::move(body), respond, start]() {
    HttpResponse r = stopping_ ? ShuttingDown() : Forward(name, body);
    metrics_.invokes.WithLabels({{"status", std::to_string(r.status)}}).Inc();
    metrics_.invoke_seconds.Get().Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    respond(std::move(r));
  };
  if (!workers_.Post(std::move(task)).ok()) {
    metrics_.invokes.WithLabels({{"status", "503"}}).Inc();
    // After Stop the queue refuses everything: that is not overload.
    respond(stopping_
                ? ShuttingDown()
                : JsonError(503, "overloaded", "too many invocations in flight; retry later"));
  }
}

HttpResponse Gateway::Forward(const std::string& name, const std::string& body) {
  Result<json::object> req = ParseJsonObject(body);
  if (!req.ok()) return JsonError(400, "invalid_request", req.status().message());

  Result<std::shared_ptr<const Manifest>> manifest = functions_.GetManifest();
  if (!manifest.ok()) return JsonError(manifest.status());
  const FunctionInfo* fn = nullptr;
  for (const FunctionInfo& f : (*manifest)->functions) {
    if (f.name == name) fn = &f;
  }
  if (!fn) return JsonError(404, "not_found", "function " + name + " not found");

  // The client's own body with "function" added as its last member (the
  // engine, like boost::json, keeps the last of repeated keys): re-encoding
  // "input" would change its text (2.5 becomes 2.5E0, long numbers round).
  std::string forward = ForwardBody(body, name);
  // What the engine gives the execution, plus room for its queueing,
  // fetch and compile.
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                     EffectiveExecTimeout(fn->current.limits.timeout, options_.exec_timeout)) +
                 options_.slack;

  std::vector<std::string> tried;
  Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<NodePick> node = nodes_.Pick(name, fn->current.sha256, tried);
    if (!node) break;
    tried.push_back(node->node_id);
    Result<HttpResponse> r = http_.Fetch("POST", node->url + "/execute", forward, {}, timeout);
    nodes_.Release(node->node_id);
    if (r.ok()) {
      // The engine's status, Content-Type and body; its other headers are
      // its own (Content-Length, Connection) and stay behind.
      r->headers.clear();
      r->headers.emplace_back("X-Aether-Node", node->node_id);
      return std::move(*r);
    }
    last = r.status();
    LOG_WARN("invoke {}: node {}: {}", name, node->node_id, last.message());
    if (!NotSent(last)) break;
  }
  if (tried.empty()) {
    HttpResponse r =
        JsonError(503, "no_ready_node",
                  "function " + name + " version " + std::to_string(fn->current.version) +
                      " is not ready on any live node");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (last.code() == Code::kDeadlineExceeded) {
    return JsonError(504, "gateway_timeout", "node " + tried.back() + " did not answer in time");
  }
  if (NotSent(last)) {
    return JsonError(503, "no_ready_node", "no ready node for " + name + " could be reached");
  }
  return JsonError(502, "bad_gateway", "node " + tried.back() + " failed: " + last.message());
}

}  // namespace aether::control
