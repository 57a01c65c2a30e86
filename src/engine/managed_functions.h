// The functions the control plane assigns to this engine: a FunctionRegistry
// whose contents follow the manifest. Apply() makes the served set equal to
// a manifest: names absent from it stop being served (404), and a function
// whose module or settings changed (a deploy, a rollback) gets a new version
// that is fetched, verified and compiled in the background while the old
// version keeps serving; the switch happens once the new one is loaded.
//
// A request for a function in the manifest that has no loaded version yet
// waits for its load (or performs it: FunctionVersion runs a load once, so
// concurrent requests share one fetch and compile).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "engine/function_registry.h"
#include "protocol/manifest.h"
#include "wasm/engine.h"

namespace aether::engine {

class LoadQueue;

// A manifest entry's limits and env, as a version runs with them.
FunctionSettings SettingsOf(const protocol::ManifestEntry& entry);

struct ManagedFunctionsHooks {
  // The module's bytes, verified against the sha256 (ModuleStore::GetOrFetch).
  // Runs on a loader thread or a worker. Unavailable, DeadlineExceeded and
  // NotFound count as transient: the version is tried again at the next
  // Apply() or request after `retry_after`. Any other error is final for
  // that version (until the manifest changes it).
  std::function<Result<std::vector<uint8_t>>(const std::string& sha256)> read_module;
  // A version became the one served (engine loaded it). May be empty.
  std::function<void(const protocol::ManifestEntry& f, wasm::Tier tier, double compile_ms)> ready;
  // A version failed for good: `stage` is "fetch" or "compile". May be empty.
  std::function<void(const protocol::ManifestEntry& f, std::string_view stage, const Status& error)>
      failed;
};

// Thread-safety: every method from any thread. The hooks run on a loader
// thread or a worker, never under the registry's lock.
class ManagedFunctions final : public FunctionRegistry {
 public:
  // `engine` must outlive this. The destructor stops the loader thread (a
  // load in progress finishes first). After a transient failure, requests
  // get that error at once for `retry_after` (on `clock`, which outlives
  // this) before one of them retries.
  ManagedFunctions(wasm::Engine& engine, ManagedFunctionsHooks hooks,
                   std::chrono::milliseconds retry_after = std::chrono::seconds(1),
                   Clock& clock = Clock::Real());
  ~ManagedFunctions() override;

  // Makes the served set follow `manifest`; cheap when nothing changed.
  void Apply(const protocol::Manifest& manifest);

  // name -> sha256 of the version served now (loaded): the heartbeat's
  // "ready" map. A function whose new version is still loading reports the
  // old one's sha256.
  std::map<std::string, std::string> Ready() const;

  std::shared_ptr<Function> Find(std::string_view name) override;
  size_t size() const override;
  std::vector<FunctionInfo> List() const override;
  const std::string& dir() const override;

  struct State;  // shared with the versions' load callbacks (a request may outlive this)

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<LoadQueue> loader_;  // destroyed first: its threads use state_
};

}  // namespace aether::engine
