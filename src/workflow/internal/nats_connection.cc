#include "workflow/internal/nats_connection.h"

#include <algorithm>
#include <random>
#include <vector>

#include "common/log.h"
#include "protocol/names.h"

namespace aether::workflow::internal {
namespace {

constexpr int64_t kReconnectMinMs = 100;
constexpr int64_t kReconnectMaxMs = 5000;

std::string ConnectedUrl(natsConnection* nc) {
  char buf[512] = {0};
  if (natsConnection_GetConnectedUrl(nc, buf, sizeof(buf)) != NATS_OK || buf[0] == '\0') {
    return "a NATS server";
  }
  return WithoutUserInfo(buf);
}

// The connection-level callbacks: one log line per change of state. They
// get no closure (libnats may run them after the NatsConnection is gone)
// and log only the server's URL, never a credential.
void OnDisconnected(natsConnection* nc, void*) {
  if (natsConnection_IsClosed(nc)) return;  // Close() logs "closed"
  LOG_WARN("NATS: disconnected; reconnecting");
}
void OnReconnected(natsConnection* nc, void*) {
  LOG_INFO("NATS: reconnected to {}", ConnectedUrl(nc));
}
void OnClosed(natsConnection*, void*) { LOG_INFO("NATS: connection closed"); }
void OnAsyncError(natsConnection*, natsSubscription*, natsStatus s, void*) {
  LOG_WARN("NATS: {}", natsStatus_GetText(s));
}

// Forever (max_reconnect -1), 100 ms doubling to 5 s, with up to 20 %
// jitter so a fleet does not reconnect in step after a server restart.
int64_t ReconnectDelay(natsConnection*, int attempts, void*) {
  int64_t ms = kReconnectMinMs << std::min(attempts > 0 ? attempts - 1 : 0, 10);
  ms = std::min(ms, kReconnectMaxMs);
  thread_local std::minstd_rand rng{std::random_device{}()};
  return ms + static_cast<int64_t>(rng() % static_cast<uint64_t>(ms / 5 + 1));
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

Code NatsCode(natsStatus s, jsErrCode js_error, std::string_view text) {
  switch (js_error) {
    case JSStreamNotFoundErr:
    case JSConsumerNotFoundErr:
      return Code::kNotFound;
    case JSStreamStoreFailedErr:
      // "maximum bytes exceeded", "maximum messages exceeded": a full
      // stream (discard new); other store failures are the server's.
      return Contains(text, "maximum") ? Code::kResourceExhausted : Code::kInternal;
    case JSAccountResourcesExceededErr:
    case JSInsufficientResourcesErr:
    case JSStorageResourcesExceededErr:
    case JSMemoryResourcesExceededErr:
    case JSStreamLimitsErr:
    case JSMaximumStreamsLimitErr:
    case JSMaximumConsumersLimitErr:
      return Code::kResourceExhausted;
    case JSNotEnabledErr:
    case JSNotEnabledForAccountErr:
      return Code::kFailedPrecondition;
    case JSClusterNotAvailErr:
    case JSClusterNoPeersErr:
    case JSClusterNotLeaderErr:
      return Code::kUnavailable;
    default:
      break;
  }
  switch (s) {
    case NATS_TIMEOUT:
    case NATS_NO_SERVER:
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_INSUFFICIENT_BUFFER:  // the reconnect buffer is full
    case NATS_NOT_YET_CONNECTED:
    case NATS_DRAINING:
      return Code::kUnavailable;
    case NATS_CONNECTION_AUTH_FAILED:
      return Code::kUnauthenticated;
    case NATS_NOT_PERMITTED:
      return Code::kPermissionDenied;
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED:
      return Code::kFailedPrecondition;
    case NATS_MAX_PAYLOAD:
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
      return Code::kInvalidArgument;
    case NATS_NOT_FOUND:
      return Code::kNotFound;
    default:
      return Contains(text, "Authorization Violation") ? Code::kUnauthenticated : Code::kInternal;
  }
}

std::string WithoutUserInfo(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t at = url.find('@', start);
  size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

Result<std::shared_ptr<NatsConnection>> NatsConnection::Open(const JetStreamOptions& options) {
  std::shared_ptr<NatsConnection> c(new NatsConnection(options));
  RETURN_IF_ERROR(c->Connect());
  return c;
}

Status NatsConnection::Connect() {
  const JetStreamOptions& o = options_;
  natsStatus s = natsOptions_Create(&opts_);
  if (s != NATS_OK) return Error("cannot create NATS options", s);
  std::vector<const char*> urls;
  for (const std::string& u : o.urls) urls.push_back(u.c_str());
  bool tls = !o.ca_file.empty() || !o.cert_file.empty();
  for (const std::string& u : o.urls) tls = tls || u.rfind("tls://", 0) == 0;
  s = natsOptions_SetServers(opts_, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts_, o.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetName(opts_, "aether-engine");
  // Without it, libnats holds every publish ~1 ms for more to batch with:
  // a pull request (each Fetch) and an ack would wait for that. Measured:
  // Fetch(1)+Ack 0.8k -> 5k events/s; bigger batches about the same.
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts_, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts_, -1);
  if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(opts_, ReconnectDelay, nullptr);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts_, o.ping_interval.count());
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts_, 2);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts_, OnDisconnected, nullptr);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts_, OnReconnected, nullptr);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts_, OnClosed, nullptr);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts_, OnAsyncError, nullptr);
  if (s == NATS_OK && !o.user.empty()) {
    s = natsOptions_SetUserInfo(opts_, o.user.c_str(), o.password.c_str());
  }
  if (s == NATS_OK && !o.token.empty()) s = natsOptions_SetToken(opts_, o.token.c_str());
  if (s != NATS_OK) return Error("cannot set the NATS options", s);
  if (tls) {
    s = natsOptions_SetSecure(opts_, true);
    if (s == NATS_OK && !o.ca_file.empty()) {
      s = natsOptions_LoadCATrustedCertificates(opts_, o.ca_file.c_str());
      if (s != NATS_OK)
        return InvalidArgument(Redact("[nats] ca_file " + o.ca_file + ": cannot load it"));
    }
    if (s == NATS_OK && !o.cert_file.empty()) {
      s = natsOptions_LoadCertificatesChain(opts_, o.cert_file.c_str(), o.key_file.c_str());
      if (s != NATS_OK) {
        return InvalidArgument(Redact("[nats] cert_file " + o.cert_file + " / key_file " +
                                      o.key_file + ": cannot load them"));
      }
    }
    if (s != NATS_OK) return Error("cannot set up TLS for NATS", s);
  }

  std::string where =
      WithoutUserInfo(o.urls.front()) +
      (o.urls.size() > 1 ? " (and " + std::to_string(o.urls.size() - 1) + " more)" : std::string());
  s = natsConnection_Connect(&nc_, opts_);
  if (s != NATS_OK) return Error("cannot connect to NATS at " + where, s);

  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.connect_timeout.count();
  s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK) return Error("cannot use JetStream", s);
  jsAccountInfo* info = nullptr;
  jsErrCode jerr = jsErrCode(0);
  s = js_GetAccountInfo(&info, js_, nullptr, &jerr);
  jsAccountInfo_Destroy(info);
  if (s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr) {
    return FailedPrecondition("NATS at " + where +
                              " has no JetStream (start nats-server with -js, or enable it for "
                              "this account)");
  }
  if (s != NATS_OK) return Error("JetStream at " + where + " does not answer", s, jerr);
  LOG_INFO("NATS: connected to {} (JetStream)", ConnectedUrl(nc_));
  return OkStatus();
}

NatsConnection::~NatsConnection() {
  jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    // Acks still in the client's buffer go out first.
    if (Connected()) natsConnection_FlushTimeout(nc_, 500);
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
  natsOptions_Destroy(opts_);
}

bool NatsConnection::Connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

Status NatsConnection::Error(std::string_view what, natsStatus s, jsErrCode js_error) const {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  // The thread's last error may be an older one: use it only when it is
  // about this status.
  std::string detail =
      (text != nullptr && *text != '\0' && last == s) ? text : natsStatus_GetText(s);
  // libnats starts its text with where in its source it was set: "(conn.c:1905): ".
  if (size_t end = detail.find("): "); detail.rfind('(', 0) == 0 && end != std::string::npos) {
    detail.erase(0, end + 3);
  }
  return ErrorWithText(what, s, js_error, std::move(detail));
}

Status NatsConnection::ErrorWithText(std::string_view what, natsStatus s, jsErrCode js_error,
                                     std::string detail) const {
  Code code = NatsCode(s, js_error, detail);
  if (code == Code::kUnauthenticated) detail += " (check [nats] user/password or token)";
  if (code == Code::kResourceExhausted) detail += " (the stream is full: [nats] max_bytes)";
  return Status(code, Redact(std::string(what) + ": " + detail));
}

std::string NatsConnection::Redact(std::string text) const {
  for (const std::string* secret : {&options_.password, &options_.token}) {
    if (secret->empty()) continue;
    for (size_t at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at + 3)) {
      text.replace(at, secret->size(), "***");
    }
  }
  return text;
}

Status CheckName(const char* what, std::string_view name) {
  if (protocol::IsName(name)) return OkStatus();
  return InvalidArgument(std::string("invalid ") + what + " name \"" + protocol::Excerpt(name) +
                         "\": use " + std::string(protocol::kNamePattern));
}

Status CheckWorkflow(WorkflowRef workflow) {
  RETURN_IF_ERROR(CheckName("workflow", workflow.name));
  if (workflow.incarnation >= 0) return OkStatus();
  return InvalidArgument("invalid incarnation " + std::to_string(workflow.incarnation) +
                         " of workflow " + std::string(workflow.name) + ": must not be negative");
}

}  // namespace aether::workflow::internal
