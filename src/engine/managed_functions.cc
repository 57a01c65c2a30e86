#include "engine/managed_functions.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "common/log.h"
#include "engine/internal/function_version.h"

namespace aether::engine {
namespace {

// The same version with the same settings. The timestamps are left out: a
// rollback re-stamps updated_at of a version that may be served already.
bool SameVersion(const protocol::ManifestEntry& a, const protocol::ManifestEntry& b) {
  return a.name == b.name && a.version == b.version && a.sha256 == b.sha256 && a.size == b.size &&
         a.env == b.env && a.memory_limit_bytes == b.memory_limit_bytes &&
         a.timeout_ms == b.timeout_ms;
}

bool Transient(const Status& st) {
  return st.code() == Code::kUnavailable || st.code() == Code::kDeadlineExceeded ||
         st.code() == Code::kNotFound;
}

}  // namespace

FunctionSettings SettingsOf(const protocol::ManifestEntry& entry) {
  FunctionSettings s;
  s.env.reserve(entry.env.size());
  for (const auto& [k, v] : entry.env) s.env.push_back(k + "=" + v);
  s.memory_limit = entry.memory_limit_bytes;
  s.timeout = std::chrono::milliseconds(entry.timeout_ms);
  return s;
}

struct ManagedFunctions::State : std::enable_shared_from_this<State> {
  State(wasm::Engine& e, ManagedFunctionsHooks h, std::chrono::milliseconds retry, Clock& c)
      : engine(e), hooks(std::move(h)), retry_after(retry), clock(c) {}

  // One name. `want` is the manifest's entry; `current` serves (loaded, for
  // `current_want`), `pending` is the version for `want` while it loads, or
  // after it failed for good (so requests see the error instead of 404).
  struct Slot {
    protocol::ManifestEntry want;
    VersionPtr current;
    protocol::ManifestEntry current_want;
    VersionPtr pending;
    // `pending` failed transiently: requests get its error (at once) until
    // retry_at, then the next Apply() or request starts another load. This
    // keeps an unreachable control plane from costing every request a fetch.
    bool transient = false;
    Clock::TimePoint retry_at{};

    // The version to hand a request, or null when a new load should start.
    VersionPtr Serving(Clock::TimePoint now) const {
      if (current) return current;
      if (pending && !(transient && now >= retry_at)) return pending;
      return nullptr;
    }
  };

  wasm::Engine& engine;
  const ManagedFunctionsHooks hooks;
  const std::chrono::milliseconds retry_after;
  Clock& clock;
  mutable std::shared_mutex mu;
  std::unordered_map<std::string, Slot> slots;

  // Under the unique lock.
  VersionPtr NewPending(Slot& slot) {
    const protocol::ManifestEntry f = slot.want;
    slot.transient = false;
    std::weak_ptr<State> weak = weak_from_this();
    slot.pending = std::make_shared<FunctionVersion>(
        f.name, "sha256 " + f.sha256.substr(0, 12), f.size, f.sha256, SettingsOf(f),
        [weak, sha = f.sha256]() -> Result<std::vector<uint8_t>> {
          std::shared_ptr<State> self = weak.lock();
          if (!self) return Unavailable("the engine is shutting down");
          return self->hooks.read_module(sha);
        },
        engine,
        [weak, f](FunctionVersion& v, const LoadOutcome& out) {
          if (std::shared_ptr<State> self = weak.lock()) self->Loaded(v, f, out);
        });
    return slot.pending;
  }

  void Loaded(FunctionVersion& v, const protocol::ManifestEntry& f, const LoadOutcome& out) {
    {
      std::unique_lock lock(mu);
      auto it = slots.find(f.name);
      if (it == slots.end() || it->second.pending.get() != &v) return;  // superseded or removed
      Slot& slot = it->second;
      if (out.result.ok()) {
        slot.current = std::move(slot.pending);
        slot.current_want = f;
        slot.pending.reset();
      } else if (out.read_failed && Transient(out.result.status())) {
        // The control plane may be away: try again later, no event.
        slot.transient = true;
        slot.retry_at = clock.Now() + retry_after;
        return;
      }
    }
    if (out.result.ok()) {
      if (hooks.ready) hooks.ready(f, (*out.result)->tier(), out.compile_ms);
    } else if (hooks.failed) {
      hooks.failed(f, out.read_failed ? "fetch" : "compile", out.result.status());
    }
  }

  bool StillPending(const VersionPtr& v) const {
    std::shared_lock lock(mu);
    auto it = slots.find(v->name());
    return it != slots.end() && it->second.pending == v;
  }
};

ManagedFunctions::ManagedFunctions(wasm::Engine& engine, ManagedFunctionsHooks hooks,
                                   std::chrono::milliseconds retry_after, Clock& clock)
    : state_(std::make_shared<State>(engine, std::move(hooks), retry_after, clock)) {
  State* state = state_.get();
  loader_ = std::make_unique<LoadQueue>(
      1, [state](const VersionPtr& v) { return state->StillPending(v); });
}

ManagedFunctions::~ManagedFunctions() { loader_.reset(); }

void ManagedFunctions::Apply(const protocol::Manifest& manifest) {
  std::vector<VersionPtr> queued;
  std::vector<std::string> removed;
  {
    std::unique_lock lock(state_->mu);
    std::unordered_set<std::string> names;
    for (const protocol::ManifestEntry& f : manifest.functions) names.insert(f.name);
    for (auto it = state_->slots.begin(); it != state_->slots.end();) {
      if (names.count(it->first) == 0) {
        removed.push_back(it->first);
        it = state_->slots.erase(it);
      } else {
        ++it;
      }
    }
    for (const protocol::ManifestEntry& f : manifest.functions) {
      State::Slot& slot = state_->slots[f.name];
      bool changed = !SameVersion(slot.want, f);
      slot.want = f;
      if (slot.current && SameVersion(slot.current_want, f)) {
        slot.pending.reset();  // e.g. a rollback to the version still served
        continue;
      }
      bool retry = slot.transient && state_->clock.Now() >= slot.retry_at;
      if (slot.pending && !changed && !retry) continue;  // loading, or failed
      queued.push_back(state_->NewPending(slot));
    }
  }
  for (const std::string& name : removed)
    LOG_INFO("function {} removed by the control plane", name);
  for (VersionPtr& v : queued) {
    LOG_INFO("function {}: loading sha256 {}", v->name(), v->Info().sha256.substr(0, 12));
    loader_->Push(std::move(v));
  }
}

std::map<std::string, std::string> ManagedFunctions::Ready() const {
  std::map<std::string, std::string> out;
  std::shared_lock lock(state_->mu);
  for (const auto& [name, slot] : state_->slots) {
    if (slot.current) out.emplace(name, slot.current_want.sha256);
  }
  return out;
}

std::shared_ptr<Function> ManagedFunctions::Find(std::string_view name) {
  {
    std::shared_lock lock(state_->mu);
    auto it = state_->slots.find(std::string(name));
    if (it == state_->slots.end()) return nullptr;
    if (VersionPtr v = it->second.Serving(state_->clock.Now())) return v;
  }
  // In the manifest, but its last load failed transiently a while ago: this
  // request starts another (its worker performs it, or the loader does first).
  VersionPtr v;
  {
    std::unique_lock lock(state_->mu);
    auto it = state_->slots.find(std::string(name));
    if (it == state_->slots.end()) return nullptr;
    if (VersionPtr serving = it->second.Serving(state_->clock.Now())) return serving;
    v = state_->NewPending(it->second);
  }
  loader_->Push(v);
  return v;
}

size_t ManagedFunctions::size() const {
  std::shared_lock lock(state_->mu);
  return state_->slots.size();
}

std::vector<FunctionInfo> ManagedFunctions::List() const {
  struct Item {
    std::string name;
    VersionPtr v;
  };
  std::vector<Item> items;
  {
    std::shared_lock lock(state_->mu);
    for (const auto& [name, slot] : state_->slots) {
      items.push_back({name, slot.current ? slot.current : slot.pending});
    }
  }
  std::vector<FunctionInfo> out;
  for (const Item& item : items) {
    if (item.v) {
      out.push_back(item.v->Info());
    } else {
      out.push_back(FunctionInfo{item.name, "", 0, "loading", "", ""});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const FunctionInfo& a, const FunctionInfo& b) { return a.name < b.name; });
  return out;
}

const std::string& ManagedFunctions::dir() const {
  static const std::string kNone;
  return kNone;
}

}  // namespace aether::engine
