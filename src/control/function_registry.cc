#include "control/function_registry.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <set>

#include "common/json_util.h"
#include "common/log.h"
#include "common/sha256.h"
#include "protocol/names.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kFunctionsPrefix = "functions/";
constexpr std::string_view kVersionsPrefix = "versions/";
constexpr std::string_view kMarkerKey = "meta/functions";
// Concurrent changes of one name retry their CAS this often before giving up.
constexpr int kCasAttempts = 20;
// Versions one deploy removes at most (etcd refuses a txn of over 128
// operations by default); a longer history shrinks over the next deploys.
constexpr int64_t kMaxPrunedPerDeploy = 64;

std::string FunctionKey(const std::string& name) { return std::string(kFunctionsPrefix) + name; }
std::string VersionsPrefix(const std::string& name) {
  return std::string(kVersionsPrefix) + name + "/";
}
std::string VersionKey(const std::string& name, int64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(v));
  return VersionsPrefix(name) + buf;
}

json::object VersionToJson(const VersionInfo& v) {
  json::object env;
  for (const auto& [k, val] : v.env) env[k] = val;
  return {{"version", v.version},
          {"sha256", v.sha256},
          {"size", v.size},
          {"env", std::move(env)},
          {"memory_limit", v.limits.memory_limit},
          {"timeout_ms", v.limits.timeout.count()},
          {"deployed_at", v.deployed_at}};
}

Result<VersionInfo> VersionFromJson(const json::object& o) {
  VersionInfo v;
  ASSIGN_OR_RETURN(v.version, GetInt(o, "version"));
  ASSIGN_OR_RETURN(v.sha256, GetString(o, "sha256"));
  ASSIGN_OR_RETURN(int64_t size, GetInt(o, "size"));
  v.size = static_cast<uint64_t>(size);
  ASSIGN_OR_RETURN(int64_t mem, GetInt(o, "memory_limit", 0));
  v.limits.memory_limit = static_cast<uint64_t>(mem);
  ASSIGN_OR_RETURN(int64_t ms, GetInt(o, "timeout_ms", 0));
  v.limits.timeout = std::chrono::milliseconds(ms);
  ASSIGN_OR_RETURN(v.deployed_at, GetString(o, "deployed_at"));
  if (const json::value* env = o.if_contains("env"); env && env->is_object()) {
    for (const auto& [k, val] : env->get_object()) {
      if (val.is_string()) v.env.emplace(std::string(k), std::string(val.get_string()));
    }
  }
  return v;
}

struct FunctionRecord {
  FunctionInfo info;
  int64_t latest = 0;
  // Versions below it were removed ([database] keep_versions); versions
  // are numbered without gaps from here to `latest`.
  int64_t oldest = 1;
};

std::string EncodeFunction(const FunctionRecord& r) {
  return ToJson(json::object{{"name", r.info.name},
                             {"created_at", r.info.created_at},
                             {"updated_at", r.info.updated_at},
                             {"latest", r.latest},
                             {"oldest", r.oldest},
                             {"current", VersionToJson(r.info.current)}});
}

Result<FunctionRecord> DecodeFunction(const std::string& text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "stored function"));
  FunctionRecord r;
  ASSIGN_OR_RETURN(r.info.name, GetString(o, "name"));
  ASSIGN_OR_RETURN(r.info.created_at, GetString(o, "created_at"));
  ASSIGN_OR_RETURN(r.info.updated_at, GetString(o, "updated_at"));
  ASSIGN_OR_RETURN(r.latest, GetInt(o, "latest"));
  ASSIGN_OR_RETURN(r.oldest, GetInt(o, "oldest", 1));  // absent: written before pruning
  ASSIGN_OR_RETURN(const json::object* cur, GetObject(o, "current"));
  ASSIGN_OR_RETURN(r.info.current, VersionFromJson(*cur));
  return r;
}

Result<VersionInfo> DecodeVersion(const std::string& text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "stored version"));
  return VersionFromJson(o);
}

Status Corrupt(const std::string& what, const Status& st) {
  LOG_ERROR("store: unreadable {}: {}", what, st.message());
  return Internal("the store holds an unreadable record for " + what);
}

}  // namespace

protocol::ManifestEntry ManifestEntryOf(const FunctionInfo& f) {
  const VersionInfo& v = f.current;
  return {f.name,
          v.version,
          v.sha256,
          v.size,
          {v.env.begin(), v.env.end()},
          v.limits.memory_limit,
          v.limits.timeout.count(),
          v.deployed_at,
          f.updated_at};
}

Result<VersionInfo> FunctionRegistry::Deploy(DeployRequest&& req, const std::string& source) {
  RETURN_IF_ERROR(Check(req.name, req.env));
  ASSIGN_OR_RETURN(StagedArtifact staged, Stage(req.wasm));
  return Commit(staged, std::move(req), source);
}

Status FunctionRegistry::Check(const std::string& name, const EnvMap& env) const {
  RETURN_IF_ERROR(protocol::ValidateFunctionName(name));
  return ValidateEnv(env, env_limits_);
}

// Artifact first: rows that point at missing bytes must never exist.
Result<StagedArtifact> FunctionRegistry::Stage(std::string_view wasm) {
  return Stage(wasm, Sha256Hex(wasm));
}

Result<StagedArtifact> FunctionRegistry::Stage(std::string_view wasm, std::string sha256) {
  RETURN_IF_ERROR(artifacts_.Write(sha256, wasm));
  StagedArtifact staged(artifacts_, std::move(sha256), wasm.size());
  if (replicate_) RETURN_IF_ERROR(replicate_(staged.sha256(), wasm));
  return staged;
}

Result<VersionInfo> FunctionRegistry::Commit(const StagedArtifact& staged, DeployRequest&& req,
                                             const std::string& source) {
  RETURN_IF_ERROR(Check(req.name, req.env));
  VersionInfo v;
  v.sha256 = staged.sha256();
  v.size = staged.size();
  v.env = std::move(req.env);
  v.limits = req.limits;

  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    ASSIGN_OR_RETURN(auto existing, store_.Get(FunctionKey(req.name)));
    FunctionRecord rec;
    int64_t mod = 0;
    std::string now = NowRfc3339();
    if (existing) {
      Result<FunctionRecord> old = DecodeFunction(existing->value);
      if (!old.ok()) return Corrupt("function " + req.name, old.status());
      rec = std::move(*old);
      mod = existing->mod_revision;
    } else {
      rec.info.name = req.name;
      rec.info.created_at = now;
    }
    v.version = rec.latest + 1;
    v.deployed_at = now;
    rec.latest = v.version;
    rec.info.current = v;
    rec.info.updated_at = now;
    TxnRequest txn;
    txn.compares.push_back(Compare::ModRevisionIs(FunctionKey(req.name), mod));
    // The oldest versions past keep_versions_ go in the same change (the
    // new one is current, so never one of them); their module bytes, once
    // no version refers to them, at the next artifact collection.
    const int64_t first_pruned = rec.oldest;
    if (keep_versions_ > 0) {
      int64_t cutoff = std::min(v.version - keep_versions_, rec.oldest + kMaxPrunedPerDeploy - 1);
      for (; rec.oldest <= cutoff; ++rec.oldest) {
        txn.ops.push_back(Op::Delete(VersionKey(req.name, rec.oldest)));
      }
    }
    txn.ops.push_back(Op::Put(FunctionKey(req.name), EncodeFunction(rec)));
    txn.ops.push_back(Op::Put(VersionKey(req.name, v.version), ToJson(VersionToJson(v))));
    txn.ops.push_back(Op::Put(std::string(kMarkerKey), req.name));
    ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
    if (!r.succeeded) continue;
    RebuildManifest();
    LOG_INFO("deployed {}@{} ({} bytes, sha256 {})", req.name, v.version, v.size, v.sha256);
    if (rec.oldest > first_pruned) {
      LOG_INFO("removed versions {}-{} of {} (keep_versions {})", first_pruned, rec.oldest - 1,
               req.name, keep_versions_);
    }
    json::object data{
        {"name", req.name}, {"version", v.version}, {"sha256", v.sha256}, {"size", v.size}};
    if (auto e = events_.Append("function_deployed", source, ToJson(data)); !e.ok()) {
      LOG_WARN("recording a deploy event: {}", e.status().message());
    }
    return v;
  }
  return Unavailable("too many concurrent changes of function " + req.name + "; retry");
}

Result<FunctionInfo> FunctionRegistry::Get(const std::string& name) {
  RETURN_IF_ERROR(protocol::ValidateFunctionName(name));
  TxnRequest txn;
  txn.ops.push_back(Op::Get(FunctionKey(name)));
  txn.ops.push_back(Op::List(VersionsPrefix(name)));
  ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
  if (r.reads[0].empty()) return NotFound("function " + name + " not found");
  Result<FunctionRecord> rec = DecodeFunction(r.reads[0][0].value);
  if (!rec.ok()) return Corrupt("function " + name, rec.status());
  FunctionInfo info = std::move(rec->info);
  for (const KeyValue& kv : r.reads[1]) {
    Result<VersionInfo> v = DecodeVersion(kv.value);
    if (!v.ok()) return Corrupt("a version of " + name, v.status());
    info.versions.push_back(std::move(*v));
  }
  return info;
}

Result<VersionInfo> FunctionRegistry::Rollback(const std::string& name, int64_t version,
                                               const std::string& source) {
  RETURN_IF_ERROR(protocol::ValidateFunctionName(name));
  if (version < 1) return InvalidArgument("field \"version\" must be a positive integer");
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    TxnRequest read;
    read.ops.push_back(Op::Get(FunctionKey(name)));
    read.ops.push_back(Op::Get(VersionKey(name, version)));
    ASSIGN_OR_RETURN(TxnResult r, store_.Txn(read));
    if (r.reads[0].empty()) return NotFound("function " + name + " not found");
    Result<FunctionRecord> rec = DecodeFunction(r.reads[0][0].value);
    if (!rec.ok()) return Corrupt("function " + name, rec.status());
    if (r.reads[1].empty()) {
      std::string msg = "function " + name + " has no version " + std::to_string(version);
      if (version < rec->oldest && version <= rec->latest) {
        msg.append(" any more: versions before ")
            .append(std::to_string(rec->oldest))
            .append(" were removed ([database] keep_versions)");
      }
      return NotFound(msg);
    }
    Result<VersionInfo> v = DecodeVersion(r.reads[1][0].value);
    if (!v.ok()) return Corrupt("a version of " + name, v.status());
    rec->info.current = *v;
    rec->info.updated_at = NowRfc3339();
    TxnRequest txn;
    txn.compares.push_back(Compare::ModRevisionIs(FunctionKey(name), r.reads[0][0].mod_revision));
    txn.compares.push_back(Compare::Exists(VersionKey(name, version)));
    txn.ops.push_back(Op::Put(FunctionKey(name), EncodeFunction(*rec)));
    txn.ops.push_back(Op::Put(std::string(kMarkerKey), name));
    ASSIGN_OR_RETURN(TxnResult w, store_.Txn(txn));
    if (!w.succeeded) continue;
    RebuildManifest();
    LOG_INFO("rolled {} back to version {}", name, version);
    json::object data{{"name", name}, {"version", version}, {"sha256", v->sha256}};
    if (auto e = events_.Append("function_rolled_back", source, ToJson(data)); !e.ok()) {
      LOG_WARN("recording a rollback event: {}", e.status().message());
    }
    return *v;
  }
  return Unavailable("too many concurrent changes of function " + name + "; retry");
}

Result<int64_t> FunctionRegistry::Delete(const std::string& name, const std::string& source) {
  RETURN_IF_ERROR(protocol::ValidateFunctionName(name));
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    TxnRequest read;
    read.ops.push_back(Op::Get(FunctionKey(name)));
    read.ops.push_back(Op::List(VersionsPrefix(name)));
    ASSIGN_OR_RETURN(TxnResult r, store_.Txn(read));
    if (r.reads[0].empty()) return NotFound("function " + name + " not found");
    TxnRequest txn;
    txn.compares.push_back(Compare::ModRevisionIs(FunctionKey(name), r.reads[0][0].mod_revision));
    txn.ops.push_back(Op::Delete(FunctionKey(name)));
    txn.ops.push_back(Op::DeletePrefix(VersionsPrefix(name)));
    txn.ops.push_back(Op::Put(std::string(kMarkerKey), name));
    ASSIGN_OR_RETURN(TxnResult w, store_.Txn(txn));
    if (!w.succeeded) continue;
    RebuildManifest();
    auto versions = static_cast<int64_t>(r.reads[1].size());
    LOG_INFO("deleted function {} ({} versions)", name, versions);
    if (auto e = events_.Append("function_deleted", source, ToJson(json::object{{"name", name}}));
        !e.ok()) {
      LOG_WARN("recording a delete event: {}", e.status().message());
    }
    if (auto gc = CollectGarbage(); !gc.ok())
      LOG_WARN("artifact cleanup: {}", gc.status().message());
    return versions;
  }
  return Unavailable("too many concurrent changes of function " + name + "; retry");
}

FunctionRegistry::FunctionRegistry(Store& store, ArtifactStore& artifacts, EventLog& events,
                                   EnvLimits env_limits, int64_t keep_versions)
    : store_(store),
      artifacts_(artifacts),
      events_(events),
      env_limits_(env_limits),
      keep_versions_(keep_versions),
      marker_(store, std::string(kMarkerKey)) {}

Result<int64_t> FunctionRegistry::Revision() {
  // Saves manifest reads on etcd a round trip each when nothing changed.
  ASSIGN_OR_RETURN(std::optional<KeyValue> marker, marker_.Get());
  return marker ? marker->mod_revision : 0;
}

Result<std::shared_ptr<const Manifest>> FunctionRegistry::GetManifest() {
  ASSIGN_OR_RETURN(int64_t rev, Revision());
  {
    std::lock_guard lock(manifest_mu_);
    if (manifest_ && manifest_->revision == rev) return manifest_;
  }
  // One read txn: the marker and the list are from the same snapshot.
  TxnRequest txn;
  txn.ops.push_back(Op::Get(std::string(kMarkerKey)));
  txn.ops.push_back(Op::List(std::string(kFunctionsPrefix)));
  ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
  auto m = std::make_shared<Manifest>();
  m->revision = r.reads[0].empty() ? 0 : r.reads[0][0].mod_revision;
  protocol::Manifest wire{m->revision, {}};
  for (const KeyValue& kv : r.reads[1]) {
    Result<FunctionRecord> rec = DecodeFunction(kv.value);
    if (!rec.ok()) return Corrupt(kv.key, rec.status());
    wire.functions.push_back(ManifestEntryOf(rec->info));
    m->functions.push_back(std::move(rec->info));
  }
  m->json = protocol::EncodeManifest(wire);
  std::lock_guard lock(manifest_mu_);
  if (!manifest_ || manifest_->revision <= m->revision) manifest_ = m;
  return std::shared_ptr<const Manifest>(m);
}

Result<std::shared_ptr<const Manifest>> FunctionRegistry::CachedManifest() {
  {
    std::lock_guard lock(manifest_mu_);
    if (manifest_) return manifest_;
  }
  return GetManifest();
}

void FunctionRegistry::RebuildManifest() {
  if (Result<std::shared_ptr<const Manifest>> m = GetManifest(); !m.ok()) {
    LOG_WARN("rebuilding the manifest after a function change: {}", m.status().message());
    // Stale now: the next reader builds it from the store.
    std::lock_guard lock(manifest_mu_);
    manifest_.reset();
  }
}

Result<std::set<std::string>> FunctionRegistry::ReferencedDigests() {
  ASSIGN_OR_RETURN(auto kvs, store_.List(kVersionsPrefix));
  std::set<std::string> shas;
  for (const KeyValue& kv : kvs) {
    Result<VersionInfo> v = DecodeVersion(kv.value);
    // An unreadable version keeps everything: better an orphan than a
    // missing artifact.
    if (!v.ok()) return Corrupt(kv.key, v.status());
    shas.insert(v->sha256);
  }
  return shas;
}

Result<size_t> FunctionRegistry::CollectGarbage() {
  return artifacts_.CollectGarbage([this] { return ReferencedDigests(); }, gc_grace_);
}

}  // namespace aether::control
