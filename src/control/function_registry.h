// The function registry: immutable versions per function name, the current
// one of each, and the manifest engines follow. Module bytes live in the
// ArtifactStore, metadata in the Store:
//   functions/<name>             current version, latest number, timestamps
//   versions/<name>/<10 digits>  one immutable version
//   meta/functions               rewritten by every function change; its mod
//                                revision is the manifest revision
// Every change is one Store txn guarded by compare-and-set on the
// functions/<name> key, so concurrent deploys of one name get distinct
// version numbers and a failed change leaves nothing behind.
//
// Callers validate the module bytes (wasm validation) before Deploy; the
// registry re-checks names and env.
//
// Thread-safety: any thread; calls block on store I/O (run them off the
// HTTP IO threads), but for CachedManifest once a manifest is cached.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/artifact_store.h"
#include "control/event_log.h"
#include "control/store.h"
#include "control/validation.h"
#include "protocol/manifest.h"

namespace aether::control {

struct VersionInfo {
  int64_t version = 0;
  std::string sha256;
  uint64_t size = 0;
  EnvMap env;
  FunctionLimits limits;
  std::string deployed_at;  // RFC 3339 UTC
};

struct FunctionInfo {
  std::string name;
  VersionInfo current;
  std::vector<VersionInfo> versions;  // ascending; empty in the manifest
  std::string created_at;
  std::string updated_at;  // last deploy, rollback
};

struct Manifest {
  int64_t revision = 0;                 // 0 until the first function change
  std::vector<FunctionInfo> functions;  // by name
  // protocol::EncodeManifest of it, rendered once per revision.
  std::string json;
};

struct DeployRequest {
  std::string name;
  std::string wasm;  // already validated
  EnvMap env;
  FunctionLimits limits;
};

// Module bytes in the artifact store (and at the replicas), pinned for a
// deploy whose rows are not written yet (FunctionRegistry::Stage). Dropped
// without a commit, it unpins them; Discard also removes bytes that only it
// wrote (see ArtifactStore::Discard).
class StagedArtifact {
 public:
  StagedArtifact(StagedArtifact&& o) noexcept
      : artifacts_(std::exchange(o.artifacts_, nullptr)),
        sha256_(std::move(o.sha256_)),
        size_(o.size_) {}
  StagedArtifact& operator=(StagedArtifact&&) = delete;
  StagedArtifact(const StagedArtifact&) = delete;
  StagedArtifact& operator=(const StagedArtifact&) = delete;
  ~StagedArtifact() {
    if (artifacts_ != nullptr) artifacts_->Unpin(sha256_);
  }
  const std::string& sha256() const { return sha256_; }
  uint64_t size() const { return size_; }
  // For a deploy that was refused.
  void Discard() {
    if (artifacts_ != nullptr) std::exchange(artifacts_, nullptr)->Discard(sha256_);
  }

 private:
  friend class FunctionRegistry;
  StagedArtifact(ArtifactStore& artifacts, std::string sha256, uint64_t size)
      : artifacts_(&artifacts), sha256_(std::move(sha256)), size_(size) {}
  ArtifactStore* artifacts_;
  std::string sha256_;
  uint64_t size_;
};

class FunctionRegistry {
 public:
  // `keep_versions`: a deploy removes the versions older than the newest
  // this many (up to 64 per deploy); 0 = every version is kept.
  FunctionRegistry(Store& store, ArtifactStore& artifacts, EventLog& events,
                   EnvLimits env_limits = {}, int64_t keep_versions = 0);

  // A new version that becomes current. Errors: InvalidArgument (name, env),
  // Internal (artifact or store I/O), Unavailable (lost too many races).
  Result<VersionInfo> Deploy(DeployRequest&& request, const std::string& source);
  // Deploy in two steps, for a caller that validates the module meanwhile
  // (the API: the bytes are written and fsynced while the compiler process
  // validates them). Check first: what Commit would refuse before any I/O.
  // Stage writes the bytes durably (and to the replicas); Commit writes the
  // rows of `request` (its `wasm` is not used) for the staged bytes.
  Status Check(const std::string& name, const EnvMap& env) const;
  Result<StagedArtifact> Stage(std::string_view wasm);
  // The same, for a caller that has the digest of `wasm` already.
  Result<StagedArtifact> Stage(std::string_view wasm, std::string sha256);
  Result<VersionInfo> Commit(const StagedArtifact& staged, DeployRequest&& request,
                             const std::string& source);
  // NotFound for an unknown function.
  Result<FunctionInfo> Get(const std::string& name);
  // Makes `version` current. NotFound for an unknown function or version
  // (saying so when keep_versions removed it).
  Result<VersionInfo> Rollback(const std::string& name, int64_t version, const std::string& source);
  // Removes the function and every version; returns how many versions.
  // Unreferenced artifacts are removed afterwards.
  Result<int64_t> Delete(const std::string& name, const std::string& source);

  // The current manifest, cached until the next function change.
  Result<std::shared_ptr<const Manifest>> GetManifest();
  // The manifest without store I/O, for the gateway on the HTTP IO threads:
  // every change made through this registry rebuilds the cached one before
  // it returns, so an invocation that follows an acknowledged deploy sees
  // the new version. Reads the store (as GetManifest) only while nothing is
  // cached: before the first manifest is built, or after a rebuild failed.
  Result<std::shared_ptr<const Manifest>> CachedManifest();
  // The manifest revision without building the manifest.
  Result<int64_t> Revision();

  // Removes artifacts no version refers to (also orphans of crashed
  // deploys), but none younger than the grace of SetReplication. Returns
  // how many.
  Result<size_t> CollectGarbage();
  // The digests versions refer to.
  Result<std::set<std::string>> ReferencedDigests();

  // Replicas (artifact_replicator.h): a deploy calls `replicate` with the
  // module's digest and bytes once they are in the local artifact store and
  // before its rows are written; an error fails the deploy. Artifacts
  // younger than `gc_grace` are not collected (copies that another
  // replica's deploy will refer to). Call before the registry is used.
  using Replicate = std::function<Status(const std::string& sha256, std::string_view bytes)>;
  void SetReplication(Replicate replicate, std::chrono::seconds gc_grace) {
    replicate_ = std::move(replicate);
    gc_grace_ = gc_grace;
  }

 private:
  // After a committed change: the cached manifest follows it.
  void RebuildManifest();

  Store& store_;
  ArtifactStore& artifacts_;
  Replicate replicate_;
  std::chrono::seconds gc_grace_{0};
  EventLog& events_;
  const EnvLimits env_limits_;
  const int64_t keep_versions_;
  std::mutex manifest_mu_;
  std::shared_ptr<const Manifest> manifest_;
  CachedKey marker_;  // meta/functions, for Revision()
};

// The manifest's entry for `f` (its current version), as engines get it.
protocol::ManifestEntry ManifestEntryOf(const FunctionInfo& f);

}  // namespace aether::control
