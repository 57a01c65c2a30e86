#include "control/domains/domain_agent.h"

#include <boost/json.hpp>
#include <condition_variable>

#include "common/backoff.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/sha256.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::chrono::milliseconds kRequestTimeout{5000};
constexpr std::chrono::milliseconds kMaxRetry{10000};

// The controller's error message, for logs ("" when there is none).
std::string Reason(const HttpResponse& r) {
  Result<json::object> o = ParseJsonObject(r.body);
  if (!o.ok()) return "HTTP " + std::to_string(r.status);
  Result<std::string> m = GetString(*o, "error.message", "");
  return "HTTP " + std::to_string(r.status) + (m.ok() && !m->empty() ? ": " + *m : "");
}

// Sleeps `d` unless `stop` is requested first; true when it was.
bool Sleep(const std::stop_token& stop, std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return cv.wait_for(lock, stop, d, [] { return false; }) || stop.stop_requested();
}

}  // namespace

Result<std::unique_ptr<DomainAgent>> DomainAgent::Create(DomainAgentOptions options) {
  if (options.controller.empty()) {
    return InvalidArgument(
        "[domain] role = \"domain\" needs the cluster controller's URL ([domain] controller)");
  }
  RETURN_IF_ERROR(protocol::ValidateNodeId(options.domain_id, "domain_id"));
  std::unique_ptr<DomainAgent> agent(new DomainAgent(std::move(options)));
  ASSIGN_OR_RETURN(
      agent->identity_,
      NodeIdentity::Open(agent->options_.data_dir, agent->options_.domain_id, "domain.credential"));
  if (agent->options_.local == nullptr)
    return InvalidArgument("a domain agent needs its control plane");
  if (agent->identity_->secret().empty() && agent->options_.join_token.empty()) {
    return InvalidArgument(
        "this domain has no credential yet, and no domain join token to get one: set [domain] "
        "join_token, join_token_file or AETHER_DOMAIN_JOIN_TOKEN (the controller's "
        "domain_join.token)");
  }
  return agent;
}

DomainAgent::DomainAgent(DomainAgentOptions options) : options_(std::move(options)) {
  HttpClientOptions ho;
  ho.max_idle_per_host = 2;
  ho.max_response_bytes = options_.max_response_bytes;
  ho.ca_file = options_.ca_file;
  http_ = NewHttpClient(std::move(ho));
  endpoints_ = std::make_unique<EndpointList>(options_.controller);
}

DomainAgent::~DomainAgent() { Stop(); }

void DomainAgent::Start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { Run(stop); });
}

void DomainAgent::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

bool DomainAgent::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

std::string DomainAgent::last_error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void DomainAgent::SetState(bool connected, std::string error) {
  std::lock_guard lock(mu_);
  if (!error.empty() && error != error_) {
    LOG_WARN("domain {}: {}", options_.domain_id, error);
  } else if (connected && !connected_) {
    LOG_INFO("domain {} is connected to its controller at {}", options_.domain_id,
             endpoints_->current());
  }
  connected_ = connected;
  error_ = std::move(error);
}

Result<HttpResponse> DomainAgent::Post(const std::stop_token& stop, std::string path,
                                       const std::string& body, bool with_credential, Retry retry) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = std::move(path);
  req.body = body;
  req.timeout = kRequestTimeout;
  req.cancel = stop;
  if (with_credential) {
    req.headers.emplace_back("X-Aether-Domain", options_.domain_id);
    req.headers.emplace_back("Authorization", "Bearer " + identity_->secret());
  } else {
    req.headers.emplace_back("Authorization", "Bearer " + options_.join_token);
  }
  return endpoints_->Send(*http_, std::move(req), {.retry = retry});
}

Status DomainAgent::Register(const std::stop_token& stop) {
  std::string body =
      protocol::EncodeDomainRegistration({options_.domain_id, options_.url, options_.labels});
  bool with_credential = !identity_->secret().empty();
  ASSIGN_OR_RETURN(HttpResponse r,
                   Post(stop, "/domain/register", body, with_credential, Retry::kIfNotSent));
  if (r.status == 404 && with_credential) {
    // The controller does not know this domain (its store was replaced):
    // join again as new.
    identity_->Forget();
    if (options_.join_token.empty()) {
      return Unavailable("the controller does not know domain " + options_.domain_id +
                         ", and there is no domain join token to join again");
    }
    ASSIGN_OR_RETURN(r, Post(stop, "/domain/register", body, false, Retry::kIfNotSent));
  }
  if (r.status != 200) return Unavailable("registering with the controller: " + Reason(r));
  ASSIGN_OR_RETURN(protocol::DomainRegisterReply reply, protocol::ParseDomainRegisterReply(r.body));
  if (!reply.credential.empty()) {
    if (Status st = identity_->Set(reply.credential); !st.ok()) {
      LOG_WARN("keeping the domain credential: {}", st.message());
    }
  }
  if (reply.heartbeat_interval_ms > 0) {
    interval_ = std::chrono::milliseconds(reply.heartbeat_interval_ms);
  }
  return OkStatus();
}

Status DomainAgent::Beat(const std::stop_token& stop) {
  protocol::DomainHeartbeat beat{options_.domain_id, options_.local->Capabilities()};
  ASSIGN_OR_RETURN(HttpResponse r, Post(stop, "/domain/heartbeat",
                                        protocol::EncodeDomainHeartbeat(beat), true, Retry::kSafe));
  if (r.status == 404) return NotFound("the controller forgot this domain: " + Reason(r));
  if (r.status != 200) return Unavailable("heartbeat: " + Reason(r));
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(r.body, "the heartbeat answer"));
  ASSIGN_OR_RETURN(functions_seen_, GetInt(o, "functions_revision", functions_seen_));
  ASSIGN_OR_RETURN(workflows_seen_, GetInt(o, "workflows_revision", workflows_seen_));
  return OkStatus();
}

Result<HttpResponse> DomainAgent::Get(const std::stop_token& stop, std::string path) {
  HttpClientRequest req;
  req.url = std::move(path);
  req.timeout = kRequestTimeout;
  req.cancel = stop;
  req.headers.emplace_back("X-Aether-Domain", options_.domain_id);
  req.headers.emplace_back("Authorization", "Bearer " + identity_->secret());
  // Artifacts are kept per replica: one that lacks a module is not the end.
  return endpoints_->Send(*http_, std::move(req),
                          {.retry = Retry::kSafe, .next_on_not_found = true});
}

Status DomainAgent::Sync(const std::stop_token& stop) {
  if (functions_synced_ != functions_seen_) {
    int64_t target = functions_seen_;
    ASSIGN_OR_RETURN(HttpResponse r, Get(stop, "/node/manifest"));
    if (r.status != 200) return Unavailable("reading the controller's functions: " + Reason(r));
    ASSIGN_OR_RETURN(protocol::Manifest manifest, protocol::ParseManifest(r.body));
    auto fetch = [&](const std::string& sha256) -> Result<std::string> {
      ASSIGN_OR_RETURN(HttpResponse a, Get(stop, "/node/artifacts/" + sha256));
      if (a.status != 200) return Unavailable("module " + sha256 + ": " + Reason(a));
      if (Sha256Hex(a.body) != sha256) {
        return Unavailable("module " + sha256 + " from the controller does not match its sha256");
      }
      return std::move(a.body);
    };
    RETURN_IF_ERROR(options_.local->MirrorFunctions(manifest, fetch));
    functions_synced_ = target;
    workflows_synced_ = -1;  // parts that waited for a function go now
  }
  if (workflows_synced_ != workflows_seen_) {
    int64_t target = workflows_seen_;
    ASSIGN_OR_RETURN(HttpResponse r, Get(stop, "/domain/workflows"));
    if (r.status != 200) return Unavailable("reading this domain's workflows: " + Reason(r));
    ASSIGN_OR_RETURN(json::object o, ParseJsonObject(r.body, "the domain's workflows"));
    ASSIGN_OR_RETURN(bool complete, GetBool(o, "complete", true));
    if (!complete) return Unavailable("the controller could not read every workflow; retrying");
    ASSIGN_OR_RETURN(const json::array* list, GetArray(o, "workflows"));
    std::map<std::string, std::string> parts;
    for (const json::value& w : *list) {
      if (!w.is_object()) return Unavailable("the controller sent a malformed workflow list");
      ASSIGN_OR_RETURN(std::string id, GetString(w.as_object(), "id"));
      ASSIGN_OR_RETURN(const json::object* spec, GetObject(w.as_object(), "spec"));
      parts[id] = ToJson(*spec);
    }
    RETURN_IF_ERROR(options_.local->MirrorWorkflows(parts));
    workflows_synced_ = target;
  }
  protocol::StatusReport report{options_.domain_id, options_.local->Instances()};
  if (report.instances.empty()) return OkStatus();
  ASSIGN_OR_RETURN(HttpResponse r, Post(stop, "/domain/workflows/status",
                                        protocol::EncodeStatusReport(report), true, Retry::kSafe));
  if (r.status != 200) return Unavailable("reporting instances: " + Reason(r));
  return OkStatus();
}

void DomainAgent::Run(const std::stop_token& stop) {
  Backoff backoff(options_.retry, kMaxRetry);
  bool registered = false;
  while (!stop.stop_requested()) {
    Status st = registered ? Beat(stop) : Register(stop);
    if (st.ok() && registered) st = Sync(stop);
    if (stop.stop_requested()) return;
    if (!st.ok()) {
      if (st.code() == Code::kNotFound) registered = false;
      SetState(false, st.message());
      if (Sleep(stop, backoff.Next())) return;
      continue;
    }
    backoff.Reset();
    registered = true;
    SetState(true, "");
    if (Sleep(stop, interval_)) return;
  }
}

}  // namespace aether::control
