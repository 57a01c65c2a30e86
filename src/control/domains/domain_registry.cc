#include "control/domains/domain_registry.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "common/log.h"
#include "common/node_credential.h"
#include "control/auth.h"
#include "control/node_registry.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kRemoved = "removed";

std::string DomainKey(std::string_view id) { return std::string(kDomainsPrefix) + std::string(id); }

std::string EncodeDomain(const DomainStatus& s, const std::string& credential_sha256) {
  json::object labels;
  for (const auto& [k, v] : s.reg.labels) labels[k] = v;
  return ToJson(json::object{{"domain_id", s.reg.domain_id},
                             {"url", s.reg.url},
                             {"labels", std::move(labels)},
                             {"state", s.up ? "up" : "down"},
                             {"scheduling", s.scheduling},
                             {"registered_at", s.registered_at},
                             {"last_heartbeat", s.last_heartbeat},
                             {"capabilities", protocol::CapabilitiesJson(s.capabilities)},
                             {"credential_sha256", credential_sha256}});
}

struct Decoded {
  DomainStatus status;
  std::string credential_sha256;
  bool removed = false;
  std::string removed_at;
};

Result<Decoded> Decode(const std::string& text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "stored domain"));
  Decoded d;
  DomainStatus& s = d.status;
  ASSIGN_OR_RETURN(s.reg.domain_id, GetString(o, "domain_id"));
  ASSIGN_OR_RETURN(std::string state, GetString(o, "state", "down"));
  if (state == kRemoved) {
    d.removed = true;
    ASSIGN_OR_RETURN(d.removed_at, GetString(o, "removed_at", ""));
    return d;
  }
  ASSIGN_OR_RETURN(s.reg.url, GetString(o, "url"));
  s.up = state == "up";
  ASSIGN_OR_RETURN(s.scheduling, GetString(o, "scheduling", std::string(kSchedulingActive)));
  if (!ValidScheduling(s.scheduling)) s.scheduling = std::string(kSchedulingActive);
  ASSIGN_OR_RETURN(s.registered_at, GetString(o, "registered_at", ""));
  ASSIGN_OR_RETURN(s.last_heartbeat, GetString(o, "last_heartbeat", ""));
  ASSIGN_OR_RETURN(d.credential_sha256, GetString(o, "credential_sha256", ""));
  if (auto* l = o.if_contains("labels"); l && l->is_object()) {
    for (const auto& [k, v] : l->get_object()) {
      if (v.is_string()) s.reg.labels.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  if (auto* c = o.if_contains("capabilities"); c != nullptr) {
    ASSIGN_OR_RETURN(s.capabilities, protocol::CapabilitiesFromJson(*c));
  }
  return d;
}

std::string RemovedMessage(std::string_view id, const std::string& removed_at) {
  return "domain " + std::string(id) + " was removed by an operator (aether domains rm" +
         (removed_at.empty() ? "" : ", at " + removed_at) +
         "); its credential is revoked. To join again, delete domain.credential in its control "
         "plane's data directory and restart it";
}

}  // namespace

Result<std::unique_ptr<DomainRegistry>> DomainRegistry::Open(Store& store, EventLog& events,
                                                             DomainRegistryOptions options) {
  if (!options.new_secret) options.new_secret = [] { return GenerateToken(); };
  std::unique_ptr<DomainRegistry> reg(new DomainRegistry(store, events, std::move(options)));
  RETURN_IF_ERROR(reg->Load());
  return reg;
}

Status DomainRegistry::Load() {
  ASSIGN_OR_RETURN(std::vector<KeyValue> kvs, store_.List(kDomainsPrefix));
  std::lock_guard lock(mu_);
  // Grace: a domain that was up gets a whole timeout to beat again.
  for (const KeyValue& kv : kvs) Adopt(kv, options_.clock->Now(), false);
  return OkStatus();
}

bool DomainRegistry::Adopt(const KeyValue& kv, Clock::TimePoint now, bool keep_liveness) {
  Result<Decoded> d = Decode(kv.value);
  if (!d.ok()) {
    LOG_WARN("skipping an unreadable domain record {}: {}", kv.key, d.status().message());
    return false;
  }
  const std::string id = d->status.reg.domain_id;
  if (d->removed) {
    int64_t& known = removed_revision_[id];
    if (kv.mod_revision <= known) return false;
    known = kv.mod_revision;
    if (domains_.erase(id) > 0) LOG_WARN("domain {} was removed through another replica", id);
    removed_[id] = d->removed_at;
    return true;
  }
  auto it = domains_.find(id);
  if (it != domains_.end() && kv.mod_revision <= it->second.revision) return false;
  removed_.erase(id);
  Domain& dom = domains_[id];
  bool was_up = dom.status.up;
  bool known = it != domains_.end();
  dom.status = std::move(d->status);
  dom.credential_sha256 = std::move(d->credential_sha256);
  dom.revision = kv.mod_revision;
  // Another replica heard the domain (its row moved) or this is the start:
  // a beat either way. The leader's up/down is its own view, which its
  // sweep decides; a follower shows the leader's.
  dom.last_seen = now;
  if (known && keep_liveness) dom.status.up = was_up;
  return true;
}

Status DomainRegistry::Persist(const std::string& domain_id, Store& store) {
  // Serialized, and always the newest state: two writes racing to the
  // store cannot land in the wrong order.
  std::lock_guard persist(persist_mu_);
  std::string value;
  {
    std::lock_guard lock(mu_);
    if (auto it = domains_.find(domain_id); it != domains_.end()) {
      value = EncodeDomain(it->second.status, it->second.credential_sha256);
    } else if (auto r = removed_.find(domain_id); r != removed_.end()) {
      value = ToJson(
          json::object{{"domain_id", domain_id}, {"state", kRemoved}, {"removed_at", r->second}});
    } else {
      return NotFound("no domain " + domain_id);
    }
  }
  ASSIGN_OR_RETURN(TxnResult r, store.Txn({{}, {Op::Put(DomainKey(domain_id), value)}}));
  if (!r.succeeded) return Unavailable("the write of domain " + domain_id + " was refused");
  std::lock_guard lock(mu_);
  if (auto it = domains_.find(domain_id); it != domains_.end()) {
    it->second.revision = std::max(it->second.revision, r.revision);
    it->second.written = options_.clock->Now();
  } else {
    int64_t& known = removed_revision_[domain_id];
    known = std::max(known, r.revision);
  }
  return OkStatus();
}

void DomainRegistry::Record(const std::string& type, const std::string& source,
                            const std::string& domain_id, const std::string& url) {
  auto r =
      events_.Append(type, source, ToJson(json::object{{"domain_id", domain_id}, {"url", url}}));
  if (!r.ok()) LOG_WARN("recording {}: {}", type, r.status().message());
}

bool DomainRegistry::MayRefresh() {
  std::lock_guard lock(refresh_mu_);
  Clock::TimePoint now = options_.clock->Now();
  if (now - refresh_window_ >= std::chrono::seconds(1)) {
    refresh_window_ = now;
    refreshes_ = 0;
  }
  return ++refreshes_ <= kMaxRefreshesPerSecond;
}

Status DomainRegistry::Missing(std::string_view domain_id) const {
  if (auto r = removed_.find(domain_id); r != removed_.end()) {
    return PermissionDenied(RemovedMessage(domain_id, r->second));
  }
  return NotFound("domain " + std::string(domain_id) + " is not registered");
}

Result<std::string> DomainRegistry::Admit(protocol::DomainRegistration reg) {
  ASSIGN_OR_RETURN(std::string secret, options_.new_secret());
  // It may have joined through another replica since this one looked.
  if (!Get(reg.domain_id)) {
    ASSIGN_OR_RETURN(std::optional<KeyValue> kv, store_.Get(DomainKey(reg.domain_id)));
    std::lock_guard lock(mu_);
    if (kv) Adopt(*kv, options_.clock->Now(), false);
  }
  std::string id = reg.domain_id, url = reg.url;
  {
    std::lock_guard lock(mu_);
    if (domains_.count(id) > 0) return AlreadyExists("domain " + id + " is already registered");
    removed_.erase(id);
    Domain& d = domains_[id];
    d.credential_sha256 = CredentialDigest(secret);
    d.status.reg = std::move(reg);
    d.status.up = true;
    d.status.registered_at = Rfc3339(options_.clock->WallNow());
    d.status.last_heartbeat = d.status.registered_at;
    d.last_seen = options_.clock->Now();
  }
  RETURN_IF_ERROR(Persist(id, store_));
  LOG_INFO("domain {} joined at {} (a new credential was issued)", id, url);
  Record("domain_joined", "control", id, url);
  return secret;
}

Status DomainRegistry::Register(protocol::DomainRegistration reg) {
  std::string id = reg.domain_id, url = reg.url;
  bool came_up = false;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(id);
    if (it == domains_.end()) return Missing(id);
    Domain& d = it->second;
    came_up = !d.status.up;
    d.status.reg = std::move(reg);
    d.status.up = true;
    d.status.last_heartbeat = Rfc3339(options_.clock->WallNow());
    d.last_seen = options_.clock->Now();
  }
  RETURN_IF_ERROR(Persist(id, store_));
  LOG_INFO("domain {} registered at {}", id, url);
  if (came_up) Record("domain_up", "control", id, url);
  return OkStatus();
}

Status DomainRegistry::Authenticate(std::string_view domain_id, std::string_view secret) {
  auto check = [&]() -> Status {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domain_id);
    if (it == domains_.end()) return Missing(domain_id);
    if (!MatchesDigest(secret, it->second.credential_sha256)) {
      return PermissionDenied("invalid credential for domain " + std::string(domain_id));
    }
    return OkStatus();
  };
  if (Status st = check(); st.ok() || st.code() == Code::kPermissionDenied) return st;
  // Unknown here: it may have joined through another replica.
  if (!MayRefresh()) {
    return Unavailable("too many requests for domains this replica does not know; retry");
  }
  Result<std::optional<KeyValue>> kv = store_.Get(DomainKey(domain_id));
  if (!kv.ok()) return Unavailable("cannot read domain " + std::string(domain_id));
  if (kv->has_value()) {
    std::lock_guard lock(mu_);
    Adopt(**kv, options_.clock->Now(), false);
  }
  return check();
}

Status DomainRegistry::Beat(protocol::DomainHeartbeat beat) {
  std::string id = beat.domain_id, url;
  bool came_up = false, write = false;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(id);
    if (it == domains_.end()) return Missing(id);
    Domain& d = it->second;
    auto now = options_.clock->Now();
    came_up = !d.status.up;
    d.status.up = true;
    d.status.last_heartbeat = Rfc3339(options_.clock->WallNow());
    d.last_seen = now;
    write = came_up || d.status.capabilities != beat.capabilities ||
            now - d.written >= options_.timeout / 3;
    d.status.capabilities = std::move(beat.capabilities);
    url = d.status.reg.url;
  }
  if (write) {
    // Through the plain store: any replica hears domains; the leader's
    // sweep takes the moved row as a beat.
    if (Status st = Persist(id, store_); !st.ok()) {
      LOG_WARN("persisting domain {}: {}", id, st.message());
    }
  }
  if (came_up) {
    LOG_INFO("domain {} is up again", id);
    Record("domain_up", "control", id, url);
  }
  return OkStatus();
}

Status DomainRegistry::Remove(const std::string& domain_id, const std::string& source) {
  std::string url;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domain_id);
    if (it == domains_.end()) return NotFound("no domain " + domain_id);
    url = it->second.status.reg.url;
    domains_.erase(it);
    removed_[domain_id] = Rfc3339(options_.clock->WallNow());
  }
  RETURN_IF_ERROR(Persist(domain_id, store_));
  LOG_WARN("domain {} removed: its credential is revoked", domain_id);
  Record("domain_removed", source, domain_id, url);
  return OkStatus();
}

Status DomainRegistry::SetScheduling(const std::string& domain_id, std::string_view scheduling,
                                     const std::string& source) {
  if (!ValidScheduling(scheduling)) {
    return InvalidArgument("scheduling must be active, cordoned or draining, not \"" +
                           std::string(scheduling.substr(0, 32)) + "\"");
  }
  std::string url;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domain_id);
    if (it == domains_.end()) return NotFound("no domain " + domain_id);
    DomainStatus& s = it->second.status;
    if (s.scheduling == scheduling) return OkStatus();
    s.scheduling = std::string(scheduling);
    url = s.reg.url;
  }
  RETURN_IF_ERROR(Persist(domain_id, store_));
  std::string type = scheduling == kSchedulingActive     ? "domain_uncordoned"
                     : scheduling == kSchedulingCordoned ? "domain_cordoned"
                                                         : "domain_draining";
  Record(type, source, domain_id, url);
  return OkStatus();
}

void DomainRegistry::Sweep() {
  Result<std::vector<KeyValue>> kvs = store_.List(kDomainsPrefix);
  auto now = options_.clock->Now();
  bool leads = options_.leader == nullptr || options_.leader->IsLeader();
  if (kvs.ok()) {
    std::lock_guard lock(mu_);
    for (const KeyValue& kv : *kvs) Adopt(kv, now, leads);
  } else {
    LOG_WARN("reading the domains: {}", kvs.status().message());
  }
  if (!leads) return;
  std::vector<std::pair<std::string, std::string>> lost;  // id, url
  {
    std::lock_guard lock(mu_);
    for (auto& [id, d] : domains_) {
      if (d.status.up && now - d.last_seen >= options_.timeout) {
        d.status.up = false;
        lost.emplace_back(id, d.status.reg.url);
      }
    }
  }
  Store& store = options_.leader ? static_cast<Store&>(*options_.leader) : store_;
  for (const auto& [id, url] : lost) {
    LOG_WARN("domain {} is down: no heartbeat for {} ms", id,
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout).count());
    if (Status st = Persist(id, store); !st.ok()) {
      LOG_WARN("persisting domain {}: {}", id, st.message());
    }
    Record("domain_down", "control", id, url);
  }
}

std::vector<DomainStatus> DomainRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<DomainStatus> out;
  out.reserve(domains_.size());
  for (const auto& [id, d] : domains_) out.push_back(d.status);
  return out;
}

std::optional<DomainStatus> DomainRegistry::Get(std::string_view domain_id) const {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domain_id);
  if (it == domains_.end()) return std::nullopt;
  return it->second.status;
}

DomainRegistry::Counts DomainRegistry::Count() const {
  std::lock_guard lock(mu_);
  Counts c;
  for (const auto& [id, d] : domains_) ++(d.status.up ? c.up : c.down);
  return c;
}

}  // namespace aether::control
