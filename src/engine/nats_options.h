// The [nats] keys of a Config, and the NATS secrets from the environment,
// mapped into workflow/'s JetStreamOptions in one place, so a key that
// stops reaching its field fails nats_options_test.cc. Connecting
// (workflow::ConnectJetStream) stays with the caller.
#pragma once

#include <functional>

#include "common/config.h"
#include "common/result.h"
#include "workflow/jetstream_log.h"

namespace aether::engine {

// The variables that may hold the secrets instead of the config file
// (which keeps them out of a file other tools read); used when the file
// leaves the key empty.
inline constexpr const char* kNatsPasswordEnv = "AETHER_NATS_PASSWORD";
inline constexpr const char* kNatsTokenEnv = "AETHER_NATS_TOKEN";

// A variable's value, or nullptr when it is unset.
using EnvLookup = std::function<const char*(const char*)>;

// Whether the node has an event log at all ([nats] urls set).
inline bool NatsConfigured(const Config& config) { return !config.nats.urls.empty(); }

// Reads nothing but `config` and `env`. Durations are cut to
// milliseconds. InvalidArgument (ValidateJetStreamOptions: "[nats] ...",
// never a secret) when the result cannot be used, e.g. no urls, or a
// password from the environment without a user.
Result<workflow::JetStreamOptions> JetStreamOptionsFromConfig(const Config& config,
                                                              const EnvLookup& env = std::getenv);

}  // namespace aether::engine
