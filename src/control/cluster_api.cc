// The replicas of one control plane: GET /api/cluster (who they are, who
// leads, how far each is behind, which artifacts each holds) and the
// artifact copies between them (/internal/artifacts/{sha256},
// artifact_replicator.h).
#include <algorithm>
#include <boost/json.hpp>

#include "common/http_client.h"
#include "common/json_util.h"
#include "common/sha256.h"
#include "control/api.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

namespace json = boost::json;

// A replica that does not answer its /health within this is listed as
// unreachable; the whole status stays quick.
constexpr std::chrono::milliseconds kPeerHealthTimeout{2000};

// The artifact a path names after `prefix`.
Result<std::string> DigestOf(const HttpRequest& req, std::string_view prefix) {
  std::string sha = req.path.substr(prefix.size());
  if (!protocol::IsSha256Hex(sha)) {
    return InvalidArgument("an artifact is named by 64 lower-case hex digits");
  }
  return sha;
}

// One replica's line: what its /health said (or why it said nothing).
json::object ReplicaLine(const ReplicaRecord& r, int status, json::object health, bool self) {
  json::object line{{"id", r.id}, {"url", r.url}, {"self", self}, {"reachable", status != 0}};
  if (status == 0) {
    line["error"] = health.contains("error") ? health["error"] : json::value("no answer");
    return line;
  }
  for (std::string_view key : {"role", "revision", "artifacts", "error"}) {
    if (auto it = health.find(key); it != health.end()) line[key] = it->value();
  }
  if (auto* store = health.if_contains("store"); store && store->is_object()) {
    if (auto* reachable = store->as_object().if_contains("reachable")) {
      line["store_reachable"] = *reachable;
    }
  }
  return line;
}

HttpResponse ArtifactResponse(const std::string& sha, std::string bytes) {
  HttpResponse r;
  r.content_type = "application/wasm";
  r.body = std::move(bytes);
  // Content-addressed: the bytes behind a name never change.
  r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  r.headers.emplace_back("X-Aether-Sha256", sha);
  return r;
}

}  // namespace

HttpResponse ControlApi::Artifact(const HttpRequest& req, std::string_view prefix, bool ask_peers) {
  Result<std::string> sha = DigestOf(req, prefix);
  if (!sha.ok()) return JsonError(400, "invalid_argument", sha.status().message());
  // A deploy under way (GET /node/prefetch told the engines of it): its
  // bytes may not be written yet.
  if (ctx_.hints != nullptr) {
    if (std::shared_ptr<const std::string> pending = ctx_.hints->Bytes(*sha)) {
      return ArtifactResponse(*sha, std::string(*pending));
    }
  }
  Result<std::string> bytes = ctx_.artifacts.Read(*sha);
  // Not here yet (deployed through another replica, catch-up still to
  // come): from a replica that has it. A peer asking has looked elsewhere
  // itself: it gets this replica's own copy or 404.
  if (ask_peers && !bytes.ok() && bytes.status().code() == Code::kNotFound) {
    bytes = ctx_.replicator.Fetch(*sha);
  }
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return JsonError(404, "not_found",
                       ask_peers ? "unknown artifact" : "no artifact " + *sha + " on this replica");
    }
    return JsonError(bytes.status());
  }
  return ArtifactResponse(*sha, std::move(*bytes));
}

HttpResponse ControlApi::PutInternalArtifact(const HttpRequest& req) {
  Result<std::string> sha = DigestOf(req, kInternalArtifactsPath);
  if (!sha.ok()) return JsonError(400, "invalid_argument", sha.status().message());
  if (req.body.size() > ctx_.config.runtime.max_module_size) {
    return JsonError(413, "too_large", "the artifact is larger than [runtime] max_module_size");
  }
  if (Sha256Hex(req.body) != *sha) {
    return JsonError(400, "invalid_argument", "the body's sha256 is not " + *sha);
  }
  if (Status st = ctx_.artifacts.Write(*sha, req.body); !st.ok()) return JsonError(st);
  // No pin: the copy is kept from collection by its age until the deploy
  // that sent it commits ([cluster]'s GC grace, FunctionRegistry).
  ctx_.artifacts.Unpin(*sha);
  return JsonOk(json::object{{"sha256", *sha}, {"size", req.body.size()}});
}

HttpResponse ControlApi::ClusterStatus() {
  Result<std::vector<ReplicaRecord>> listed = ctx_.replicas.All();
  if (!listed.ok()) return JsonError(listed.status());
  const std::string& self_id = ctx_.leadership.replica_id();
  std::vector<ReplicaRecord> replicas = std::move(*listed);
  // The embedded store lists nobody; a replica that has not listed itself
  // yet (it just started) is still one.
  if (std::none_of(replicas.begin(), replicas.end(),
                   [&](const ReplicaRecord& r) { return r.id == self_id; })) {
    replicas.push_back({self_id, SelfUrl(), ""});
  }
  HttpClientOptions ho;
  ho.ca_file = ctx_.config.cluster.ca_file;
  std::unique_ptr<HttpClient> http = NewHttpClient(std::move(ho));
  json::array lines;
  int64_t newest = 0;
  for (const ReplicaRecord& r : replicas) {
    bool self = r.id == self_id;
    int status = 0;
    json::object health;
    if (self) {
      std::tie(status, health) = HealthReport();
    } else if (Result<HttpResponse> got =
                   http->Fetch("GET", r.url + "/health", {}, {}, kPeerHealthTimeout);
               !got.ok()) {
      health["error"] = got.status().message();
    } else if (Result<json::object> o = ParseJsonObject(got->body, "its /health"); !o.ok()) {
      health["error"] = "HTTP " + std::to_string(got->status) + ": " + o.status().message();
    } else {
      status = got->status;
      health = std::move(*o);
    }
    json::object line = ReplicaLine(r, status, std::move(health), self);
    if (auto* rev = line.if_contains("revision"); rev && rev->is_int64()) {
      newest = std::max(newest, rev->as_int64());
    }
    lines.push_back(std::move(line));
  }
  std::string leader;
  for (json::value& v : lines) {
    json::object& line = v.as_object();
    if (auto* rev = line.if_contains("revision"); rev && rev->is_int64()) {
      line["lag"] = newest - rev->as_int64();
    }
    if (auto* role = line.if_contains("role"); role && *role == "leader") {
      leader = json::value_to<std::string>(line["id"]);
    }
  }
  return JsonOk(
      json::object{{"backend", ctx_.leadership.backend()},
                   {"leader", leader.empty() ? json::value(nullptr) : json::value(leader)},
                   {"revision", newest},
                   {"replicas", std::move(lines)}});
}

void ControlApi::RegisterCluster(HttpServer& server) {
  server.Route("GET", "/api/cluster",
               Blocking("GET /api/cluster", Access::kAdmin,
                        [this](const HttpRequest&) { return ClusterStatus(); }));
  server.RoutePrefix(
      "GET", kInternalArtifactsPath,
      Blocking("GET /internal/artifacts/{sha256}", Access::kAdmin, [this](const HttpRequest& req) {
        return Artifact(req, kInternalArtifactsPath, false);
      }));
  server.RoutePrefix("PUT", kInternalArtifactsPath,
                     Blocking("PUT /internal/artifacts/{sha256}", Access::kAdmin,
                              [this](const HttpRequest& req) { return PutInternalArtifact(req); }));
}

}  // namespace aether::control
