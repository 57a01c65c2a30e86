// Module bytes as content-addressed files: <dir>/<sha256>.wasm, mode 0600 in
// a 0700 directory (a module may embed secrets). A file is
// written to a temporary name, fsynced, renamed into place and the
// directory fsynced, so a name that exists always holds complete bytes,
// also after a crash.
//
// Deploys write the artifact first and the store rows second; an artifact
// is "pinned" from before its write until the rows are committed, so that a
// concurrent garbage collection cannot remove it in between.
//
// Thread-safety: every method may be called from any thread.
// Errors: Internal for I/O failures (the message has no file system path,
// it may reach API clients), NotFound for an unknown digest.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::control {

class ArtifactStore {
 public:
  // Creates `dir` if needed, makes it private (MakePrivateDir: 0700, files
  // 0600) and removes temporaries left by a crash.
  static Result<std::unique_ptr<ArtifactStore>> Open(std::string dir);

  // Stores `bytes` under `sha256` (computed by the caller) unless already
  // present, and pins it. Every successful Write needs one Unpin. An
  // artifact already present is touched: its age restarts (see
  // CollectGarbage's min_age).
  Status Write(const std::string& sha256, std::string_view bytes);
  void Unpin(const std::string& sha256);
  // Unpin for a deploy that gave up before its rows (its module was
  // refused): the bytes go too when its Write created them and no other
  // Write of the same digest came since (nothing can refer to them then).
  void Discard(const std::string& sha256);

  Result<std::string> Read(const std::string& sha256) const;
  bool Contains(const std::string& sha256) const;

  // How many artifacts the directory holds (counted at Open, then kept
  // by Write and CollectGarbage: no directory scan per call).
  size_t Count() const;

  // Removes every artifact that is neither referenced nor pinned, nor
  // written or touched within `min_age`. `list` returns the referenced
  // digests; it runs under the pin lock so that a deploy committing
  // meanwhile is either in its answer or still pinned. Pins are of this
  // process only: replicas keep the bytes another replica copied to them
  // for a deploy it has not committed yet by their age (min_age).
  // Returns how many were removed.
  Result<size_t> CollectGarbage(const std::function<Result<std::set<std::string>>()>& list,
                                std::chrono::seconds min_age = std::chrono::seconds(0));

  const std::string& dir() const { return dir_; }

 private:
  ArtifactStore(std::string dir, size_t count) : dir_(std::move(dir)), count_(count) {}
  std::string PathOf(const std::string& sha256) const;

  std::string dir_;
  mutable std::mutex mu_;  // guards pins_ and serializes GC against Write
  std::map<std::string, int> pins_;
  // Written by a Write whose deploy has not ended, and by no other since.
  std::set<std::string> fresh_;
  size_t count_ = 0;  // under mu_
};

}  // namespace aether::control
