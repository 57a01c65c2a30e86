// The cluster controller's registry of orchestration domains
// (docs/domains.md): domains that registered, their liveness and the
// capabilities they report in heartbeats — node registry's work one level
// up.
//
// Identity: the domain join token admits a new domain id once (Admit),
// which issues the domain its own secret; the registry keeps only its
// SHA-256. Every later call of that domain carries X-Aether-Domain and the
// secret (Authenticate). Remove() revokes a domain: its row becomes a
// tombstone, so its credential is refused rather than unknown.
//
// Durability and replicas: a domain's row (domains/<id>: registration,
// state, scheduling, capabilities, last heartbeat) is written when it
// registers, when its capabilities change, when it goes up or down, and at
// least every timeout / 3 while it beats — so whichever replica hears a
// domain, the leader sees the row move. Sweep (the leader's) reads every
// row, takes a row that moved as a beat, and marks domains silent for
// `timeout` down (domain_down; domain_up when one beats again). Domains
// are few (a site each), so reading them all each sweep is cheap.
//
// Thread-safety: any thread. Admit, Register, Beat (when it writes),
// Remove, SetScheduling and Sweep block on the store; List and Get do not.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "control/event_log.h"
#include "control/leadership.h"
#include "control/store.h"
#include "protocol/domain.h"

namespace aether::control {

inline constexpr std::string_view kDomainsPrefix = "domains/";

struct DomainStatus {
  protocol::DomainRegistration reg;
  bool up = false;
  // Whether new components may be mapped there: "active", "cordoned" (what
  // is there stays) or "draining" (what is there moves away); the node
  // registry's values (kScheduling*).
  std::string scheduling = "active";
  std::string registered_at;   // RFC 3339
  std::string last_heartbeat;  // RFC 3339; empty before the first beat
  protocol::DomainCapabilities capabilities;
};

struct DomainRegistryOptions {
  std::chrono::nanoseconds timeout = std::chrono::seconds(15);
  Clock* clock = &Clock::Real();  // outlives the registry
  // A new domain secret; empty = auth.h's GenerateToken.
  std::function<Result<std::string>()> new_secret;
  // Replicas: Sweep marks domains down only while this replica leads, and
  // writes those through this fenced store. Null: one process.
  FencedStore* leader = nullptr;
};

class DomainRegistry {
 public:
  // Loads the stored domains; each that was up gets a timeout of grace.
  static Result<std::unique_ptr<DomainRegistry>> Open(Store& store, EventLog& events,
                                                      DomainRegistryOptions options);

  // A new domain, admitted with the domain join token: stored, up, and
  // `domain_joined` recorded. Returns its secret — the only time it exists
  // outside the domain. AlreadyExists when the id is registered (only its
  // own credential registers it again, or an operator removes it first).
  Result<std::string> Admit(protocol::DomainRegistration reg);
  // A known domain registering again with its credential (a restart, a new
  // url): url and labels replaced, up. NotFound when unknown,
  // PermissionDenied when removed.
  Status Register(protocol::DomainRegistration reg);
  // OK when `secret` is the domain's credential. NotFound: no such domain
  // (it joins again with the join token); PermissionDenied: a wrong secret
  // or a removed domain. Reads the row when memory does not know the id
  // (it may have joined through another replica), at most
  // kMaxRefreshesPerSecond times a second.
  Status Authenticate(std::string_view domain_id, std::string_view secret);
  // The domain is heard: up again if it was down (domain_up). NotFound for
  // an unknown domain, PermissionDenied for a removed one.
  Status Beat(protocol::DomainHeartbeat beat);
  // Revokes the domain (DELETE /api/domains/{id}), records domain_removed.
  // NotFound for an unknown domain.
  Status Remove(const std::string& domain_id, const std::string& source);
  // "active", "cordoned" or "draining" (aether domains cordon|uncordon|
  // drain); records domain_cordoned / domain_draining / domain_uncordoned
  // when it changes. NotFound, InvalidArgument for another value.
  Status SetScheduling(const std::string& domain_id, std::string_view scheduling,
                       const std::string& source);
  // Takes what other replicas wrote, then (on the leader) marks silent
  // domains down. Call periodically.
  void Sweep();

  std::vector<DomainStatus> List() const;
  std::optional<DomainStatus> Get(std::string_view domain_id) const;
  struct Counts {
    int64_t up = 0;
    int64_t down = 0;
  };
  Counts Count() const;

  static constexpr int kMaxRefreshesPerSecond = 20;

 private:
  struct Domain {
    DomainStatus status;
    std::string credential_sha256;
    Clock::TimePoint last_seen;
    Clock::TimePoint written;  // when this replica last wrote its row
    int64_t revision = 0;      // of the row memory reflects
  };
  DomainRegistry(Store& store, EventLog& events, DomainRegistryOptions options)
      : store_(store), events_(events), options_(std::move(options)) {}
  Status Load();
  // Writes the domain's row (or tombstone) as memory has it, through `store`.
  Status Persist(const std::string& domain_id, Store& store);
  // Under mu_: a stored row newer than memory's replaces it (another
  // replica's write); a moved row counts as a beat. `keep_liveness` (the
  // leader): memory's up/down stays. True when memory changed.
  bool Adopt(const KeyValue& kv, Clock::TimePoint now, bool keep_liveness);
  Status Missing(std::string_view domain_id) const;  // under mu_
  bool MayRefresh();
  void Record(const std::string& type, const std::string& source, const std::string& domain_id,
              const std::string& url);

  Store& store_;
  EventLog& events_;
  DomainRegistryOptions options_;
  std::mutex persist_mu_;  // taken before mu_, never while holding it
  mutable std::mutex mu_;
  std::map<std::string, Domain, std::less<>> domains_;
  std::map<std::string, std::string, std::less<>> removed_;  // id -> removed_at
  std::map<std::string, int64_t, std::less<>> removed_revision_;
  std::mutex refresh_mu_;
  Clock::TimePoint refresh_window_{};
  int refreshes_ = 0;
};

}  // namespace aether::control
