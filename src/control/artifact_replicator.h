// Module bytes on more than one replica (docs/operations.md, "Several
// replicas"). Each replica keeps its own content-addressed artifact
// directory (artifact_store.h); module bytes never go into etcd.
//
//  * A deploy is acknowledged only when `copies` replicas (this one
//    included) hold its artifact — every live one when fewer are listed:
//    Replicate pushes the bytes to peers (PUT /internal/artifacts/{sha256})
//    until enough took them, before the deploy's rows are committed.
//  * A replica that lacks an artifact fetches it from a peer
//    (GET /internal/artifacts/{sha256}) and checks its sha256 before
//    keeping it: at once when an engine asks for it (Fetch), and in the
//    background for every artifact a version refers to (catch-up: after
//    the store moves, and every `catch_up_period`).
//
// Peers are the live replicas of replica_set.h; they authenticate to each
// other with the admin token, which replicas share.
//
// Thread-safety: any thread; Start and Stop from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "common/http_client.h"
#include "common/result.h"
#include "control/artifact_store.h"
#include "control/function_registry.h"
#include "control/replica_set.h"
#include "control/store.h"

namespace aether::control {

// Where replicas serve each other their artifacts.
inline constexpr std::string_view kInternalArtifactsPath = "/internal/artifacts/";

struct ArtifactReplicatorOptions {
  std::string token;    // the admin token (peers' /internal/artifacts need it)
  std::string ca_file;  // https:// peers: the CA to trust, else the system store
  // Replicas that hold an artifact before its deploy is acknowledged, this
  // one included.
  size_t copies = 2;
  std::chrono::milliseconds timeout{10000};  // one peer request
  std::chrono::milliseconds catch_up_period{10000};
  uint64_t max_artifact_bytes = 64ull << 20;
};

class ArtifactReplicator {
 public:
  // `functions` says which artifacts versions refer to; `store` wakes the
  // catch-up when it moves.
  ArtifactReplicator(ArtifactStore& local, ReplicaSet& replicas, FunctionRegistry& functions,
                     Store& store, ArtifactReplicatorOptions options);
  ~ArtifactReplicator();  // Stop()

  // Starts the catch-up thread.
  void Start();
  void Stop();

  // Copies `bytes` (already in the local store) to every peer at once, and
  // returns when `copies` replicas hold them, or every live one (a peer
  // that refuses connections is not running). Unavailable, naming the
  // peers and what went wrong, when too few took them.
  Status Replicate(const std::string& sha256, std::string_view bytes);

  // The artifact from the first peer that has it, checked and kept
  // locally. NotFound when no live peer has it; Unavailable when a peer
  // that might have it could not be asked.
  Result<std::string> Fetch(const std::string& sha256);

  // Artifacts in the local directory now, and those versions refer to that
  // it lacked at the last catch-up.
  struct Holdings {
    size_t held = 0;
    size_t missing = 0;
  };
  Holdings holdings() const;

  // One catch-up pass now (tests, and the thread).
  void CatchUp();

 private:
  void Run();
  Result<std::string> FetchFrom(const ReplicaRecord& peer, const std::string& sha256);

  ArtifactStore& local_;
  ReplicaSet& replicas_;
  FunctionRegistry& functions_;
  Store& store_;
  const ArtifactReplicatorOptions options_;
  std::unique_ptr<HttpClient> http_;

  std::atomic<size_t> missing_{0};
  std::mutex catch_up_mu_;  // one pass at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // under mu_
  size_t pushing_ = 0;     // under mu_: Replicate's push threads still running
  std::thread thread_;
};

}  // namespace aether::control
