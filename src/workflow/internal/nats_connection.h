// One libnats connection and its JetStream context, shared (shared_ptr) by
// the JetStream EventLog, its subscriptions and its deliveries, so whichever
// is destroyed last closes it (and likewise by the Key-Value buckets of
// durable kv resources, on a connection of their own). Also the one place
// that turns a libnats status into ours and that keeps secrets out of
// messages.
//
// Private to workflow/jetstream_log.cc and workflow/jetstream_kv.cc.
#pragma once

#include <nats/nats.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workflow/jetstream_log.h"

namespace aether::workflow::internal {

class NatsConnection {
 public:
  // Connects with `options` (valid: ValidateJetStreamOptions) and checks
  // that JetStream answers. Errors: see ConnectJetStream.
  static Result<std::shared_ptr<NatsConnection>> Open(const JetStreamOptions& options);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  natsConnection* nc() const { return nc_; }
  jsCtx* js() const { return js_; }
  const JetStreamOptions& options() const { return options_; }
  // False while it reconnects (and once closed).
  bool Connected() const;

  // The Status of a failed libnats call (this thread's last error): its
  // code mapped as jetstream_log.h says, the message "<what>: <client's
  // text>", with secrets replaced by "***".
  Status Error(std::string_view what, natsStatus s, jsErrCode js_error = jsErrCode(0)) const;
  // The same with the server's own text (an error a reply carried).
  Status ErrorWithText(std::string_view what, natsStatus s, jsErrCode js_error,
                       std::string detail) const;
  // `text` with the password and the token replaced by "***".
  std::string Redact(std::string text) const;

 private:
  explicit NatsConnection(const JetStreamOptions& options) : options_(options) {}
  Status Connect();

  const JetStreamOptions options_;
  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

// The code libnats' status and JetStream's error code stand for (pure).
Code NatsCode(natsStatus s, jsErrCode js_error, std::string_view text);

// OK when `name` (a workflow or component name, about to become part of a
// stream, consumer, subject or bucket name) is a valid Aether name; else
// InvalidArgument: `invalid <what> name "<excerpt>": use <pattern>`.
Status CheckName(const char* what, std::string_view name);
// CheckName of the workflow's name, and InvalidArgument for a negative
// incarnation.
Status CheckWorkflow(WorkflowRef workflow);

// "nats://user:secret@host:4222" → "nats://host:4222" (for log lines).
std::string WithoutUserInfo(std::string_view url);

}  // namespace aether::workflow::internal
