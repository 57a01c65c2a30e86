#include "control/artifact_replicator.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/sha256.h"

namespace aether::control {
namespace {

// How often the catch-up thread looks at the store's revision (a pass runs
// only when the functions changed, or every catch_up_period), and the
// least time between two passes.
constexpr std::chrono::milliseconds kWatchStep{1000};

HttpHeaders AuthHeaders(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string PeerError(const ReplicaRecord& peer, const std::string& what) {
  return peer.id + " (" + peer.url + "): " + what;
}

}  // namespace

ArtifactReplicator::ArtifactReplicator(ArtifactStore& local, ReplicaSet& replicas,
                                       FunctionRegistry& functions, Store& store,
                                       ArtifactReplicatorOptions options)
    : local_(local),
      replicas_(replicas),
      functions_(functions),
      store_(store),
      options_(std::move(options)) {
  HttpClientOptions ho;
  ho.max_idle_per_host = 2;
  ho.max_response_bytes = options_.max_artifact_bytes;
  ho.ca_file = options_.ca_file;
  http_ = NewHttpClient(std::move(ho));
}

ArtifactReplicator::~ArtifactReplicator() { Stop(); }

void ArtifactReplicator::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ArtifactReplicator::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Pushes that outlived their deploy end within options_.timeout.
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return pushing_ == 0; });
}

namespace {

// The pushes of one Replicate. Shared with the threads that make them: a
// slow peer's push may outlive the call that started it (its answer no
// longer matters once enough peers took the bytes).
struct Pushes {
  std::mutex mu;
  std::condition_variable cv;
  size_t stored = 0;   // peers that took the bytes
  size_t refused = 0;  // peers that refused the connection: not running
  size_t done = 0;
  std::string errors;
};

// PUT /internal/artifacts/{sha256} on `peer`: OK, or why not (NothingWasSent
// when nothing listens there).
Status Push(const ReplicaRecord& peer, const ArtifactReplicatorOptions& options,
            const std::string& sha256, const std::string& bytes) {
  HttpClientOptions ho;
  ho.ca_file = options.ca_file;
  std::unique_ptr<HttpClient> http = NewHttpClient(std::move(ho));
  HttpClientRequest req;
  req.method = "PUT";
  req.url = peer.url + std::string(kInternalArtifactsPath) + sha256;
  req.body = bytes;
  req.headers = AuthHeaders(options.token);
  req.headers.emplace_back("Content-Type", "application/wasm");
  req.timeout = options.timeout;
  ASSIGN_OR_RETURN(HttpResponse r, http->Send(req));
  if (r.status != 200) return Unavailable(DescribeHttpError(r));
  return OkStatus();
}

}  // namespace

Status ArtifactReplicator::Replicate(const std::string& sha256, std::string_view bytes) {
  Result<std::vector<ReplicaRecord>> peers = replicas_.Peers();
  if (!peers.ok()) {
    return Unavailable("cannot list the replicas to copy the module to: " +
                       peers.status().message());
  }
  if (options_.copies <= 1 || peers->empty()) return OkStatus();
  // Every live peer gets a copy at once (none waits for the catch-up);
  // the deploy waits only for as many as it needs.
  auto pushes = std::make_shared<Pushes>();
  auto shared_bytes = std::make_shared<const std::string>(bytes);
  for (const ReplicaRecord& peer : *peers) {
    {
      std::lock_guard lock(mu_);
      ++pushing_;
    }
    std::thread([this, pushes, shared_bytes, peer, sha256, options = options_] {
      Status st = Push(peer, options, sha256, *shared_bytes);
      if (!st.ok())
        LOG_WARN("copying artifact {} to replica {}", sha256, PeerError(peer, st.message()));
      std::lock_guard lock(pushes->mu);
      if (st.ok()) {
        ++pushes->stored;
      } else {
        if (NothingWasSent(st)) ++pushes->refused;
        pushes->errors += (pushes->errors.empty() ? "" : "; ") + PeerError(peer, st.message());
      }
      ++pushes->done;
      pushes->cv.notify_all();
      // Last: Stop waits for this before the object goes.
      std::lock_guard self(mu_);
      if (--pushing_ == 0) cv_.notify_all();
    }).detach();
  }
  std::unique_lock lock(pushes->mu);
  const size_t wanted = options_.copies - 1;  // besides this replica
  pushes->cv.wait(lock, [&] { return pushes->stored >= wanted || pushes->done == peers->size(); });
  if (pushes->stored >= wanted) return OkStatus();
  // A listed peer that refuses connections is not running (its entry goes
  // when its lease lapses): every live replica holds the bytes.
  size_t live = peers->size() - pushes->refused;
  if (pushes->stored >= std::min(wanted, live)) return OkStatus();
  return Unavailable(
      "the module could not be copied to another replica, so the deploy was not "
      "made (" +
      pushes->errors + "); retry");
}

Result<std::string> ArtifactReplicator::FetchFrom(const ReplicaRecord& peer,
                                                  const std::string& sha256) {
  HttpClientRequest req;
  req.url = peer.url + std::string(kInternalArtifactsPath) + sha256;
  req.headers = AuthHeaders(options_.token);
  req.timeout = options_.timeout;
  ASSIGN_OR_RETURN(HttpResponse r, http_->Send(req));
  if (r.status == 404) return NotFound("not on " + peer.id);
  if (r.status != 200) return Unavailable(DescribeHttpError(r));
  // A peer is trusted with the token, not with the bytes: what is kept is
  // what the digest names.
  if (Sha256Hex(r.body) != sha256) {
    LOG_WARN("replica {} sent artifact {} with bytes that do not match the digest; not kept",
             peer.id, sha256);
    return Unavailable("its bytes do not match the digest");
  }
  return std::move(r.body);
}

Result<std::string> ArtifactReplicator::Fetch(const std::string& sha256) {
  ASSIGN_OR_RETURN(std::vector<ReplicaRecord> peers, replicas_.Peers());
  std::string errors;
  for (const ReplicaRecord& peer : peers) {
    Result<std::string> bytes = FetchFrom(peer, sha256);
    if (!bytes.ok()) {
      // Not there, or not running (listed until its lease lapses).
      if (bytes.status().code() != Code::kNotFound && !NothingWasSent(bytes.status())) {
        errors += (errors.empty() ? "" : "; ") + PeerError(peer, bytes.status().message());
      }
      continue;
    }
    RETURN_IF_ERROR(local_.Write(sha256, *bytes));
    local_.Unpin(sha256);
    LOG_INFO("fetched artifact {} ({} bytes) from replica {}", sha256, bytes->size(), peer.id);
    return bytes;
  }
  if (!errors.empty())
    return Unavailable("no replica could give artifact " + sha256 + ": " + errors);
  return NotFound("no replica holds artifact " + sha256);
}

void ArtifactReplicator::CatchUp() {
  std::lock_guard pass(catch_up_mu_);
  Result<std::set<std::string>> referenced = functions_.ReferencedDigests();
  if (!referenced.ok()) {
    LOG_WARN("artifact catch-up: {}", referenced.status().message());
    return;
  }
  size_t missing = 0;
  std::string first_error;
  for (const std::string& sha : *referenced) {
    if (local_.Contains(sha)) continue;
    if (Result<std::string> got = Fetch(sha); !got.ok()) {
      if (missing++ == 0) first_error = got.status().message();
    }
  }
  // Said once per change, not every pass: an artifact no live replica
  // holds stays missing until one that has it comes back.
  if (missing_.exchange(missing) != missing && missing > 0) {
    LOG_WARN(
        "{} artifacts that versions refer to are not on this replica and could not be "
        "fetched ({}{})",
        missing, first_error, missing > 1 ? ", ..." : "");
  }
}

ArtifactReplicator::Holdings ArtifactReplicator::holdings() const {
  return {local_.Count(), missing_.load()};
}

void ArtifactReplicator::Run() {
  int64_t seen = 0;
  int64_t caught_up_at = -1;  // the functions' revision of the last pass
  auto next_pass = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    Result<int64_t> rev = store_.WaitForRevision(seen, kWatchStep);
    if (rev.ok()) seen = std::max(seen, *rev);
    Result<int64_t> functions_rev = functions_.Revision();
    bool changed = functions_rev.ok() && *functions_rev != caught_up_at;
    if (changed || std::chrono::steady_clock::now() >= next_pass) {
      CatchUp();
      if (functions_rev.ok()) caught_up_at = *functions_rev;
      next_pass = std::chrono::steady_clock::now() + options_.catch_up_period;
      // At most one pass per step, however fast the functions change.
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kWatchStep, [this] { return stopping_; });
    }
  }
}

}  // namespace aether::control
