#include "engine/nats_options.h"

#include <chrono>
#include <cstdlib>

#include "common/units.h"

namespace aether::engine {
namespace {

// The file's value, else the variable's.
std::string Secret(const std::string& from_file, const EnvLookup& env, const char* variable) {
  if (!from_file.empty() || !env) return from_file;
  const char* v = env(variable);
  return v != nullptr ? v : "";
}

}  // namespace

Result<workflow::JetStreamOptions> JetStreamOptionsFromConfig(const Config& config,
                                                              const EnvLookup& env) {
  const NatsConfig& n = config.nats;
  workflow::JetStreamOptions o;
  o.urls = n.urls;
  o.user = n.user;
  o.password = Secret(n.password, env, kNatsPasswordEnv);
  o.token = Secret(n.token, env, kNatsTokenEnv);
  o.ca_file = n.ca_file;
  o.cert_file = n.cert_file;
  o.key_file = n.key_file;
  o.prefix = n.prefix;
  o.replicas = n.replicas;
  o.max_age = WholeMilliseconds(n.max_age);
  o.max_bytes = n.max_bytes;
  o.dedup_window = WholeMilliseconds(n.dedup_window);
  o.ack_wait = WholeMilliseconds(n.ack_wait);
  o.max_deliver = n.max_deliver;
  o.max_ack_pending = n.max_ack_pending;
  o.max_pending_appends = n.max_pending_appends;
  o.connect_timeout = WholeMilliseconds(n.connect_timeout);
  o.sweep_interval = WholeMilliseconds(n.sweep_interval);
  RETURN_IF_ERROR(workflow::ValidateJetStreamOptions(o));
  return o;
}

}  // namespace aether::engine
