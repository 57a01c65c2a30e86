// /api/functions: deploy (JSON with base64, or a raw PUT), show, list,
// rollback, delete, manifest.
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "common/json_util.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/stage_times.h"
#include "common/units.h"
#include "control/api.h"
#include "protocol/names.h"
#include "wasm/validate.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kFunctionsPath = "/api/functions/";

// Statuses that are the client's fault keep their specific API code.
HttpResponse BadRequest(const Status& st, std::string_view code = "invalid_argument") {
  return JsonError(400, code, st.message());
}

struct PathParts {
  std::string name;
  std::string action;  // "" or "rollback"
};

// "/api/functions/NAME[/ACTION]". A NAME with a slash in it (../x) is kept
// whole so that it fails name validation with a 400.
PathParts SplitPath(const std::string& path) {
  std::string rest = path.substr(kFunctionsPath.size());
  size_t slash = rest.rfind('/');
  if (slash != std::string::npos && rest.substr(slash + 1) == "rollback") {
    return {rest.substr(0, slash), "rollback"};
  }
  return {rest, ""};
}

// version, sha256, size, deployed_at
json::object VersionSummaryJson(const VersionInfo& v) {
  return {{"version", v.version},
          {"sha256", v.sha256},
          {"size", v.size},
          {"deployed_at", v.deployed_at}};
}

json::object EnvJson(const EnvMap& env) {
  json::object o;
  for (const auto& [k, v] : env) o[k] = v;
  return o;
}

// Stage (FunctionRegistry) run on a thread of its own while the caller
// validates. Where no thread can be started, Get runs it then.
class StagedArtifacts {
 public:
  using Fn = std::function<Result<StagedArtifact>()>;
  explicit StagedArtifacts(Fn fn) : fn_(std::move(fn)) {
    try {
      future_ = std::async(std::launch::async, fn_);
    } catch (const std::system_error& e) {
      LOG_WARN("deploy: no thread to store the module alongside its validation ({})", e.what());
    }
  }
  // Joins the thread whatever happens: it uses the caller's bytes.
  ~StagedArtifacts() {
    if (future_.valid()) future_.wait();
  }
  StagedArtifacts(const StagedArtifacts&) = delete;
  StagedArtifacts& operator=(const StagedArtifacts&) = delete;

  Result<StagedArtifact> Get() { return future_.valid() ? future_.get() : fn_(); }

 private:
  Fn fn_;
  std::future<Result<StagedArtifact>> future_;
};

}  // namespace

HttpResponse ControlApi::Deploy(const std::string& name, std::string&& wasm, EnvMap env,
                                FunctionLimits limits) {
  auto invalid = [&](HttpResponse r) {
    ctx_.metrics.deploys.WithLabels({{"result", "invalid"}}).Inc();
    return r;
  };
  const RuntimeConfig& rt = ctx_.config.runtime;
  if (wasm.size() > rt.max_module_size) {
    return invalid(JsonError(413, "payload_too_large",
                             "the module is larger than " + FormatSize(rt.max_module_size) +
                                 " ([runtime] max_module_size)"));
  }
  if (Status st = ctx_.functions.Check(name, env); !st.ok()) return invalid(JsonError(st));
  auto error = [&](const Status& st) {
    ctx_.metrics.deploys.WithLabels({{"result", "error"}}).Inc();
    return JsonError(st);
  };
  StageTimes stages;
  // The engines hear of the module now and compile it while this replica
  // validates and stores it (control/prefetch_hints.h); until the deploy
  // ends they fetch these bytes.
  auto bytes = std::make_shared<const std::string>(std::move(wasm));
  const std::string sha256 = Sha256Hex(*bytes);  // hashed once: the hint and the artifact
  std::optional<PrefetchHints::Announcement> announced;
  if (ctx_.hints != nullptr) announced.emplace(ctx_.hints->Announce(sha256, bytes));
  // The bytes are written (fsynced, replicated) while the compiler process
  // validates them: the deploy waits for the longer of the two, not both.
  StageTimes artifact;
  StagedArtifacts staging([&] {
    Result<StagedArtifact> staged = ctx_.functions.Stage(*bytes, sha256);
    artifact.Lap("artifact");
    return staged;
  });
  StageTimes validation;  // in a compiler process (wasm/validate.h)
  Result<wasm::ModuleInfo> info = ctx_.validator.Validate(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()),
      wasm::ModuleLimitsFrom(rt), &validation);
  Result<StagedArtifact> staged = staging.Get();
  if (!info.ok()) {
    if (staged.ok()) staged->Discard();  // a refused module leaves no bytes behind
    // The compiler process could not run: our fault, not the module's.
    if (info.status().code() != Code::kInvalidArgument) return error(info.status());
    return invalid(JsonError(422, "invalid_module", info.status().message()));
  }
  stages.Lap("validate");  // and the artifact, alongside
  if (!staged.ok()) return error(staged.status());
  DeployRequest req{name, {}, std::move(env), limits};
  Result<VersionInfo> v = ctx_.functions.Commit(*staged, std::move(req), std::string(kApiSource));
  stages.Lap("store");  // the rows, durably
  if (DebugLogging()) {
    spdlog::debug("deploy of {}: {} (validation: {}; alongside: {})", name, stages.Format(),
                  validation.Format(/*with_total=*/false), artifact.Format(/*with_total=*/false));
  }
  if (!v.ok()) return error(v.status());
  ctx_.metrics.deploys.WithLabels({{"result", "ok"}}).Inc();
  HttpResponse r = JsonOk(json::object{{"status", "deployed"},
                                       {"function_id", name + "@" + std::to_string(v->version)},
                                       {"name", name},
                                       {"version", v->version},
                                       {"sha256", v->sha256},
                                       {"size", v->size},
                                       {"deployed_at", v->deployed_at}});
  r.status = 201;
  r.headers.emplace_back("Location", std::string(kFunctionsPath) + name);
  return r;
}

HttpResponse ControlApi::DeployJson(const HttpRequest& req) {
  if (auto owned = ControllerOwns()) return *owned;
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return BadRequest(body.status(), "invalid_request");
  Result<std::string> name = GetString(*body, "name");
  if (!name.ok()) return BadRequest(name.status());
  if (Status st = protocol::ValidateFunctionName(*name); !st.ok())
    return BadRequest(st, "invalid_name");

  EnvMap env;
  if (const json::value* e = body->if_contains("env")) {
    Result<EnvMap> parsed = EnvFromJson(ToJson(*e), "env", EnvLimitsOf(ctx_.config.runtime));
    if (!parsed.ok()) return BadRequest(parsed.status());
    env = std::move(*parsed);
  }
  FunctionLimits limits;
  Result<std::string> mem = GetString(*body, "memory_limit", "");
  if (!mem.ok()) return BadRequest(mem.status());
  if (!mem->empty()) {
    Result<uint64_t> m = ParseMemoryLimit(*mem, "memory_limit");
    if (!m.ok()) return BadRequest(m.status());
    limits.memory_limit = *m;
  }
  Result<std::string> timeout = GetString(*body, "timeout", "");
  if (!timeout.ok()) return BadRequest(timeout.status());
  if (!timeout->empty()) {
    Result<std::chrono::milliseconds> t = ParseTimeout(*timeout, "timeout");
    if (!t.ok()) return BadRequest(t.status());
    limits.timeout = *t;
  }

  Result<std::string> b64 = GetString(*body, "wasm_b64");
  if (!b64.ok()) return BadRequest(b64.status());
  Result<std::string> wasm = DecodeBase64(*b64, ctx_.config.runtime.max_module_size);
  if (!wasm.ok()) {
    if (wasm.status().code() == Code::kResourceExhausted) {
      return JsonError(413, "payload_too_large", wasm.status().message());
    }
    return BadRequest(wasm.status(), "invalid_base64");
  }
  return Deploy(*name, std::move(*wasm), std::move(env), limits);
}

HttpResponse ControlApi::DeployRaw(const HttpRequest& req, const std::string& name) {
  if (auto owned = ControllerOwns()) return *owned;
  if (Status st = protocol::ValidateFunctionName(name); !st.ok())
    return BadRequest(st, "invalid_name");
  std::string_view ct = req.Header("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  if (!ct.empty() && ct != "application/wasm" && ct != "application/octet-stream") {
    return JsonError(415, "unsupported_media_type",
                     "send the module as the body with Content-Type: application/wasm");
  }
  // Settings come as query parameters; env may repeat (?env=A=1&env=B=2),
  // which HttpRequest::query (last value wins) cannot express.
  EnvMap env;
  FunctionLimits limits;
  auto url = boost::urls::parse_origin_form(req.target);
  if (!url) return JsonError(400, "invalid_argument", "malformed request target");
  for (auto param : url->params()) {
    if (param.key == "env") {
      if (Status st = AddEnvAssignment(param.value, env); !st.ok()) return BadRequest(st);
    } else if (param.key == "memory_limit") {
      Result<uint64_t> m = ParseMemoryLimit(param.value, "memory_limit");
      if (!m.ok()) return BadRequest(m.status());
      limits.memory_limit = *m;
    } else if (param.key == "timeout") {
      Result<std::chrono::milliseconds> t = ParseTimeout(param.value, "timeout");
      if (!t.ok()) return BadRequest(t.status());
      limits.timeout = *t;
    } else {
      return JsonError(400, "invalid_argument",
                       "unknown query parameter \"" + SanitizeUtf8(param.key.substr(0, 32)) + "\"");
    }
  }
  if (Status st = ValidateEnv(env, EnvLimitsOf(ctx_.config.runtime)); !st.ok())
    return BadRequest(st);
  if (req.body.empty()) return JsonError(400, "invalid_module", "the request body is empty");
  std::string wasm = req.body;
  return Deploy(name, std::move(wasm), std::move(env), limits);
}

HttpResponse ControlApi::GetFunction(const std::string& name) {
  if (Status st = protocol::ValidateFunctionName(name); !st.ok())
    return BadRequest(st, "invalid_name");
  Result<FunctionInfo> f = ctx_.functions.Get(name);
  if (!f.ok()) return JsonError(f.status());
  const VersionInfo& cur = f->current;
  json::array versions;
  for (const VersionInfo& v : f->versions) {
    json::object o = VersionSummaryJson(v);
    o["current"] = v.version == cur.version;
    versions.push_back(std::move(o));
  }
  json::array nodes;
  for (const NodeStatus& n : ctx_.nodes.List()) {
    auto it = n.ready.find(name);
    json::value sha = it == n.ready.end() ? json::value(nullptr) : json::value(it->second);
    bool ready = n.up && it != n.ready.end() && it->second == cur.sha256;
    nodes.push_back(json::object{{"node_id", n.reg.node_id},
                                 {"state", n.up ? "up" : "down"},
                                 {"ready", ready},
                                 {"sha256", std::move(sha)}});
  }
  json::object item = protocol::ManifestEntryJson(ManifestEntryOf(*f));
  item["created_at"] = f->created_at;
  item["versions"] = std::move(versions);
  item["nodes"] = std::move(nodes);
  item["env"] = EnvJson(cur.env);
  return JsonOk(item);
}

HttpResponse ControlApi::ListFunctions() {
  Result<std::shared_ptr<const Manifest>> m = ctx_.functions.GetManifest();
  if (!m.ok()) return JsonError(m.status());
  json::array items;
  for (const FunctionInfo& f : (*m)->functions) {
    items.push_back(json::object{{"name", f.name},
                                 {"version", f.current.version},
                                 {"sha256", f.current.sha256},
                                 {"size", f.current.size},
                                 {"updated_at", f.updated_at}});
  }
  return JsonOk(json::object{{"functions", std::move(items)}, {"revision", (*m)->revision}});
}

HttpResponse ControlApi::Rollback(const HttpRequest& req, const std::string& name) {
  if (auto owned = ControllerOwns()) return *owned;
  if (Status st = protocol::ValidateFunctionName(name); !st.ok())
    return BadRequest(st, "invalid_name");
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return BadRequest(body.status(), "invalid_request");
  Result<int64_t> version = GetInt(*body, "version");
  if (!version.ok()) return BadRequest(version.status());
  Result<VersionInfo> v = ctx_.functions.Rollback(name, *version, std::string(kApiSource));
  if (!v.ok()) return JsonError(v.status());
  return JsonOk(json::object{{"status", "rolled_back"},
                             {"function_id", name + "@" + std::to_string(v->version)},
                             {"name", name},
                             {"version", v->version},
                             {"sha256", v->sha256}});
}

HttpResponse ControlApi::DeleteFunction(const std::string& name) {
  if (auto owned = ControllerOwns()) return *owned;
  if (Status st = protocol::ValidateFunctionName(name); !st.ok())
    return BadRequest(st, "invalid_name");
  // A function a workflow runs stays until that workflow is deleted.
  Result<std::vector<std::string>> users = ctx_.workflows.WorkflowsUsing(name);
  if (!users.ok()) return JsonError(users.status());
  if (!users->empty()) {
    std::string list;
    for (const std::string& w : *users) list += (list.empty() ? "" : ", ") + w;
    return JsonError(
        409, "in_use",
        "function \"" + name + "\" is used by workflow(s) " + list + "; delete them first");
  }
  Result<int64_t> n = ctx_.functions.Delete(name, std::string(kApiSource));
  if (!n.ok()) return JsonError(n.status());
  return JsonOk(json::object{{"status", "deleted"}, {"name", name}, {"versions_removed", *n}});
}

void ControlApi::RegisterFunctions(HttpServer& server) {
  server.Route("POST", "/api/functions",
               Blocking("POST /api/functions", Access::kAdmin,
                        [this](const HttpRequest& req) { return DeployJson(req); }));
  server.Route("GET", "/api/functions",
               Blocking("GET /api/functions", Access::kAdmin,
                        [this](const HttpRequest&) { return ListFunctions(); }));
  server.Route("GET", "/api/functions/manifest",
               Blocking("GET /api/functions/manifest", Access::kAdmin, [this](const HttpRequest&) {
                 Result<std::shared_ptr<const Manifest>> m = ctx_.functions.GetManifest();
                 if (!m.ok()) return JsonError(m.status());
                 HttpResponse r;
                 r.body = (*m)->json;
                 return r;
               }));
  server.RoutePrefix(
      "GET", kFunctionsPath,
      Blocking("GET /api/functions/{name}", Access::kAdmin, [this](const HttpRequest& req) {
        PathParts p = SplitPath(req.path);
        if (!p.action.empty()) return JsonError(404, "not_found", "no such route");
        return GetFunction(p.name);
      }));
  server.RoutePrefix(
      "PUT", kFunctionsPath,
      Blocking("PUT /api/functions/{name}", Access::kAdmin, [this](const HttpRequest& req) {
        return DeployRaw(req, req.path.substr(kFunctionsPath.size()));
      }));
  server.RoutePrefix(
      "DELETE", kFunctionsPath,
      Blocking("DELETE /api/functions/{name}", Access::kAdmin, [this](const HttpRequest& req) {
        return DeleteFunction(req.path.substr(kFunctionsPath.size()));
      }));
  server.RoutePrefix("POST", kFunctionsPath,
                     Blocking("POST /api/functions/{name}/rollback", Access::kAdmin,
                              [this](const HttpRequest& req) {
                                PathParts p = SplitPath(req.path);
                                if (p.action != "rollback") {
                                  return JsonError(404, "not_found", "no such route");
                                }
                                return Rollback(req, p.name);
                              }));
}

}  // namespace aether::control
