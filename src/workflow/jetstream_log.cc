#include "workflow/jetstream_log.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "protocol/names.h"
#include "workflow/internal/jetstream_publisher.h"
#include "workflow/internal/nats_connection.h"
#include "workflow/jetstream_names.h"

namespace aether::workflow {
namespace {

using internal::CheckName;
using internal::CheckWorkflow;
using internal::NatsConnection;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using internal::kMsgIdHeader;
using internal::kSourceHeader;
constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxSourceLength = 255;
constexpr size_t kMaxPrefixLength = 32;
constexpr int kMaxReplicas = 5;  // JetStream's own cap
// An append nobody answered while JetStream was not up is tried again
// after this long, until its deadline.
constexpr milliseconds kNoResponderRetry{100};

int64_t Nanos(milliseconds d) { return static_cast<int64_t>(d.count()) * 1'000'000; }

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Ids and sources become a header, names a subject: nothing that NATS
// would read as a separator, a wildcard or the end of a line.
bool ValidId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), IsIdChar);
}
bool ValidSource(std::string_view source) {
  return source.size() <= kMaxSourceLength && std::all_of(source.begin(), source.end(), [](char c) {
           return c > ' ' && c < 127 && c != '.' && c != '*' && c != '>';
         });
}

Status CheckEvent(const LogEvent& e) {
  if (!ValidId(e.id)) {
    return InvalidArgument("invalid event id \"" + protocol::Excerpt(e.id) +
                           "\": use 1 to 64 of [A-Za-z0-9_-]");
  }
  if (!ValidSource(e.source)) {
    return InvalidArgument("invalid event source \"" + protocol::Excerpt(e.source) +
                           "\": at most 255 printable characters, without whitespace, '.', '*' "
                           "or '>'");
  }
  return OkStatus();
}

std::string StreamName(const JetStreamOptions& o, WorkflowRef workflow) {
  return EventStreamName(o.prefix, workflow);
}
std::string SubjectOf(const JetStreamOptions& o, WorkflowRef workflow, std::string_view component) {
  return EventSubject(o.prefix, workflow, component);
}

// Where a component's events live on the server.
struct ConsumerNames {
  std::string stream;
  std::string subject;
  std::string consumer;  // the component
};

Status NoStream(std::string_view stream) {
  return NotFound("the event log has no stream " + std::string(stream) + " (EnsureWorkflow first)");
}

// The component's durable pull consumer, created if missing (several
// nodes may race: the server keeps one); an existing one takes the
// options' limits where JetStream allows.
Status EnsureConsumer(const NatsConnection& conn, const ConsumerNames& n) {
  const JetStreamOptions& o = conn.options();
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = n.consumer.c_str();
  cc.FilterSubject = n.subject.c_str();
  cc.DeliverPolicy = js_DeliverAll;  // WorkQueue requires it
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = Nanos(o.ack_wait);
  cc.MaxDeliver = o.max_deliver;
  cc.MaxAckPending = o.max_ack_pending;
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_AddConsumer(&info, conn.js(), n.stream.c_str(), &cc, nullptr, &jerr);
  jsConsumerInfo_Destroy(info);
  if (s == NATS_OK) return OkStatus();
  if (jerr == JSStreamNotFoundErr) return NoStream(n.stream);
  std::string what = "consumer " + n.consumer + " of stream " + n.stream;
  if (jerr != JSConsumerNameExistErr && jerr != JSConsumerExistingActiveErr) {
    return conn.Error("cannot create " + what, s, jerr);
  }
  info = nullptr;
  s = js_UpdateConsumer(&info, conn.js(), n.stream.c_str(), &cc, nullptr, &jerr);
  jsConsumerInfo_Destroy(info);
  if (s != NATS_OK) {
    LOG_WARN("{}; it keeps its limits", conn.Error("cannot update " + what, s, jerr).message());
  }
  return OkStatus();
}

// One event handed out: settled by publishing JetStream's ack protocol to
// the message's reply subject, on the shared connection (so it outlives
// the subscription that fetched it). Acks are not waited for: one lost
// with the connection means a redelivery, which at-least-once allows.
class JetStreamDelivery : public LogDelivery {
 public:
  JetStreamDelivery(std::shared_ptr<NatsConnection> conn, LogEvent event, uint64_t attempt,
                    std::string reply)
      : conn_(std::move(conn)),
        event_(std::move(event)),
        attempt_(attempt),
        reply_(std::move(reply)) {}

  const LogEvent& event() const override { return event_; }
  uint64_t attempt() const override { return attempt_; }
  Status Ack() override { return Settle("+ACK"); }
  Status Nak(milliseconds delay) override {
    if (delay.count() <= 0) return Settle("-NAK");
    return Settle("-NAK {\"delay\":" + std::to_string(Nanos(delay)) + "}");
  }
  Status Term() override { return Settle("+TERM"); }
  Status Progress() override {
    std::lock_guard lock(mu_);
    if (settled_) return Settled();
    return Send("+WPI");
  }

 private:
  Status Settle(const std::string& body) {
    std::lock_guard lock(mu_);
    if (settled_) return Settled();
    RETURN_IF_ERROR(Send(body));
    settled_ = true;
    return OkStatus();
  }
  Status Send(const std::string& body) {
    natsStatus s = natsConnection_PublishString(conn_->nc(), reply_.c_str(), body.c_str());
    if (s != NATS_OK) return conn_->Error("cannot settle event " + event_.id, s);
    return OkStatus();
  }
  Status Settled() const {
    return FailedPrecondition("event " + event_.id + " was already settled (Ack, Nak or Term)");
  }

  const std::shared_ptr<NatsConnection> conn_;
  const LogEvent event_;
  const uint64_t attempt_;
  const std::string reply_;
  std::mutex mu_;
  bool settled_ = false;
};

// A pull subscription bound to the component's durable consumer (created
// beforehand, so unsubscribing never deletes it).
class JetStreamSubscription : public LogSubscription {
 public:
  JetStreamSubscription(std::shared_ptr<NatsConnection> conn, natsSubscription* sub,
                        ConsumerNames names)
      : conn_(std::move(conn)),
        sub_(sub),
        names_(std::move(names)),
        consumer_(names_.stream + "/" + names_.consumer),
        checked_(Clock::now()) {}
  ~JetStreamSubscription() override {
    Close();
    natsSubscription_Destroy(sub_);
  }

  Result<std::vector<std::unique_ptr<LogDelivery>>> Fetch(size_t max, milliseconds wait) override {
    if (max == 0) return InvalidArgument("Fetch: max must be at least 1");
    int batch = static_cast<int>(std::min<size_t>(max, INT_MAX));
    auto deadline = Clock::now() + wait;
    std::vector<std::unique_ptr<LogDelivery>> out;
    // What is there now, without waiting; then one event at a time in
    // slices until the first comes (a pull for the whole batch would wait
    // for all of it); then, again without waiting, what came with it.
    RETURN_IF_ERROR(Pull(batch, /*no_wait=*/true, kFetchSlice, out));
    while (out.empty()) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return CheckConsumer(std::move(out));
      RETURN_IF_ERROR(Pull(1, /*no_wait=*/false, std::min(left, kFetchSlice), out));
      if (!out.empty() && batch > 1) {
        // Best effort: the event in hand is returned whatever this says.
        (void)Pull(batch - 1, /*no_wait=*/true, kFetchSlice, out);
      }
    }
    return out;
  }

  void Close() override {
    // Wakes a Fetch waiting in natsSubscription_FetchRequest (the
    // subscription is marked closed under its lock).
    if (!closed_.exchange(true)) natsSubscription_Unsubscribe(sub_);
  }

 private:
  // One pull request: appends what it brought to `out`. A timeout or "no
  // messages" is not an error.
  Status Pull(int batch, bool no_wait, milliseconds wait,
              std::vector<std::unique_ptr<LogDelivery>>& out) {
    if (closed_) return ClosedError();
    if (!conn_->Connected()) {
      return Unavailable("the NATS connection is down (reconnecting); fetch again later");
    }
    jsFetchRequest req;
    jsFetchRequest_Init(&req);
    req.Batch = batch;
    req.NoWait = no_wait;
    req.Expires = Nanos(std::max(wait, milliseconds(1)));
    natsMsgList list{};
    natsStatus s = natsSubscription_FetchRequest(&list, sub_, &req);
    for (int i = 0; i < list.Count; ++i) out.push_back(ToDelivery(list.Msgs[i]));
    natsMsgList_Destroy(&list);
    if (s == NATS_OK || s == NATS_TIMEOUT || s == NATS_NOT_FOUND) return OkStatus();
    if (closed_) return ClosedError();
    return conn_->Error("cannot fetch events of consumer " + consumer_, s);
  }

  // JetStream answers pulls for a consumer that is gone like pulls that
  // found nothing; so, while nothing comes, look every
  // consumer_check_interval: a consumer deleted under us (nats consumer
  // rm) is created again; a deleted stream is NotFound.
  Result<std::vector<std::unique_ptr<LogDelivery>>> CheckConsumer(
      std::vector<std::unique_ptr<LogDelivery>> empty) {
    if (Clock::now() - checked_ < conn_->options().consumer_check_interval) return empty;
    checked_ = Clock::now();
    jsConsumerInfo* info = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_GetConsumerInfo(&info, conn_->js(), names_.stream.c_str(),
                                      names_.consumer.c_str(), nullptr, &jerr);
    jsConsumerInfo_Destroy(info);
    if (s == NATS_OK || (jerr != JSConsumerNotFoundErr && jerr != JSStreamNotFoundErr)) {
      return empty;  // there, or unknown (a timeout): the next check will tell
    }
    if (jerr == JSConsumerNotFoundErr) {
      LOG_WARN("NATS: consumer {} was deleted; creating it again", consumer_);
    }
    RETURN_IF_ERROR(EnsureConsumer(*conn_, names_));
    return empty;
  }

  std::unique_ptr<LogDelivery> ToDelivery(natsMsg* m) {
    LogEvent e;
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, kMsgIdHeader, &v) == NATS_OK) e.id = v;
    if (natsMsgHeader_Get(m, kSourceHeader, &v) == NATS_OK) e.source = v;
    e.payload.assign(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
    uint64_t attempt = 1, seq = 0;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      attempt = std::max<uint64_t>(1, meta->NumDelivered);
      seq = meta->Sequence.Stream;
    }
    jsMsgMetaData_Destroy(meta);
    // Whoever may publish on the subject can put an event there (an
    // operator's `nats pub`, another tool) without our checks: an id that
    // is missing or not one we would write becomes one from the stream
    // sequence (the same on every delivery, unique in the stream), since
    // receivers skip ids they handled; a source we would refuse is dropped.
    if (!ValidId(e.id)) e.id = "seq-" + std::to_string(seq);
    if (!ValidSource(e.source)) e.source.clear();
    const char* reply = natsMsg_GetReply(m);
    return std::make_unique<JetStreamDelivery>(conn_, std::move(e), attempt,
                                               reply != nullptr ? reply : "");
  }

  Status ClosedError() const {
    return FailedPrecondition("the subscription of consumer " + consumer_ + " is closed");
  }

  const std::shared_ptr<NatsConnection> conn_;
  natsSubscription* const sub_;
  const ConsumerNames names_;
  const std::string consumer_;  // "<stream>/<consumer>", for messages
  std::atomic<bool> closed_{false};
  Clock::time_point checked_;  // the consumer's last check (Fetch's thread only)
};

class JetStreamLog : public EventLog {
 public:
  JetStreamLog(std::shared_ptr<NatsConnection> conn,
               std::unique_ptr<internal::JetStreamPublisher> publisher)
      : conn_(std::move(conn)), publisher_(std::move(publisher)) {}

  Status EnsureWorkflow(WorkflowRef workflow) override {
    RETURN_IF_ERROR(CheckWorkflow(workflow));
    const JetStreamOptions& o = conn_->options();
    std::string name = StreamName(o, workflow);
    std::string subjects = SubjectOf(o, workflow, "*");
    const char* subject_list[] = {subjects.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    cfg.Subjects = subject_list;
    cfg.SubjectsLen = 1;
    cfg.Retention = js_WorkQueuePolicy;
    cfg.Storage = js_FileStorage;
    cfg.Discard = js_DiscardNew;
    cfg.Replicas = o.replicas;
    cfg.MaxAge = Nanos(o.max_age);
    cfg.MaxBytes = static_cast<int64_t>(o.max_bytes);
    cfg.Duplicates = Nanos(o.dedup_window);
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_AddStream(&info, conn_->js(), &cfg, nullptr, &jerr);
    jsStreamInfo_Destroy(info);
    if (s == NATS_OK) return OkStatus();
    if (jerr != JSStreamNameExistErr) {
      return conn_->Error("cannot create stream " + name, s, jerr);
    }
    // It exists with other limits: keep it (and its events); take the
    // new limits where JetStream allows changing them.
    info = nullptr;
    s = js_UpdateStream(&info, conn_->js(), &cfg, nullptr, &jerr);
    jsStreamInfo_Destroy(info);
    if (s != NATS_OK) {
      LOG_WARN("{}; the stream keeps its limits",
               conn_->Error("cannot update stream " + name, s, jerr).message());
    }
    return OkStatus();
  }

  Status DropWorkflow(WorkflowRef workflow) override {
    RETURN_IF_ERROR(CheckWorkflow(workflow));
    std::string name = StreamName(conn_->options(), workflow);
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_DeleteStream(conn_->js(), name.c_str(), nullptr, &jerr);
    if (s == NATS_OK || s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return OkStatus();
    return conn_->Error("cannot delete stream " + name, s, jerr);
  }

  Status Append(WorkflowRef workflow, std::string_view component, const LogEvent& event,
                Clock::time_point deadline) override {
    RETURN_IF_ERROR(CheckWorkflow(workflow));
    RETURN_IF_ERROR(CheckName("component", component));
    RETURN_IF_ERROR(CheckEvent(event));
    const JetStreamOptions& o = conn_->options();
    if (deadline <= Clock::now()) {
      return Unavailable("event " + event.id + " was not appended: its deadline had passed");
    }
    std::string stream = StreamName(o, workflow);
    std::string subject = SubjectOf(o, workflow, component);
    for (;;) {
      internal::JetStreamPublisher::Outcome out =
          publisher_->Publish(subject, stream, event, deadline);
      if (!out.no_responders) return out.status;
      // Nobody took it: no stream (NotFound), or JetStream is not up yet
      // (a server restarting): try again until the deadline.
      Status why = NoStreamOr(stream);
      if (why.code() != Code::kUnavailable || Clock::now() + kNoResponderRetry >= deadline) {
        return why;
      }
      std::this_thread::sleep_for(kNoResponderRetry);
    }
  }

  Result<std::unique_ptr<LogSubscription>> Subscribe(WorkflowRef workflow,
                                                     std::string_view component) override {
    RETURN_IF_ERROR(CheckWorkflow(workflow));
    RETURN_IF_ERROR(CheckName("component", component));
    const JetStreamOptions& o = conn_->options();
    ConsumerNames names{StreamName(o, workflow), SubjectOf(o, workflow, component),
                        std::string(component)};
    RETURN_IF_ERROR(EnsureConsumer(*conn_, names));
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = names.stream.c_str();
    so.Consumer = names.consumer.c_str();
    natsSubscription* sub = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_PullSubscribe(&sub, conn_->js(), names.subject.c_str(),
                                    names.consumer.c_str(), nullptr, &so, &jerr);
    if (s != NATS_OK) {
      natsSubscription_Destroy(sub);
      return conn_->Error(
          "cannot subscribe to consumer " + names.consumer + " of stream " + names.stream, s, jerr);
    }
    return std::unique_ptr<LogSubscription>(
        std::make_unique<JetStreamSubscription>(conn_, sub, std::move(names)));
  }

 private:
  // An append nobody answered: no stream listens on the subject, or
  // JetStream is not up (yet).
  Status NoStreamOr(const std::string& stream) {
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_GetStreamInfo(&info, conn_->js(), stream.c_str(), nullptr, &jerr);
    jsStreamInfo_Destroy(info);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return NoStream(stream);
    return Unavailable("JetStream did not answer the append to stream " + stream +
                       " (is it starting?)");
  }

  const std::shared_ptr<NatsConnection> conn_;
  const std::unique_ptr<internal::JetStreamPublisher> publisher_;
};

}  // namespace

Status ValidateJetStreamOptions(const JetStreamOptions& o) {
  auto bad = [](const std::string& what) { return InvalidArgument("[nats] " + what); };
  if (o.urls.empty()) return bad("urls: at least one server URL is needed");
  for (const std::string& u : o.urls) {
    bool blank = u.empty() || std::any_of(u.begin(), u.end(), [](char c) { return c <= ' '; });
    if (blank) return bad("urls: \"" + protocol::Excerpt(u) + "\" is not a URL");
    if (internal::WithoutUserInfo(u) != u) {
      return bad("urls: put credentials in [nats] user/password or token, not in the URL");
    }
  }
  if (!o.password.empty() && o.user.empty()) return bad("password is set without user");
  if (!o.token.empty() && !o.user.empty()) return bad("set user/password or token, not both");
  if (o.cert_file.empty() != o.key_file.empty()) {
    return bad("cert_file and key_file must be set together");
  }
  bool prefix_ok = !o.prefix.empty() && o.prefix.size() <= kMaxPrefixLength &&
                   std::all_of(o.prefix.begin(), o.prefix.end(), IsIdChar);
  if (!prefix_ok) return bad("prefix must be 1 to 32 of [A-Za-z0-9_-]");
  if (o.replicas < 1 || o.replicas > kMaxReplicas) return bad("replicas must be 1 to 5");
  if (o.max_age.count() <= 0) return bad("max_age must be positive");
  if (o.max_bytes == 0 || o.max_bytes > static_cast<uint64_t>(INT64_MAX)) {
    return bad("max_bytes must be positive");
  }
  if (o.dedup_window.count() <= 0 || o.dedup_window > o.max_age) {
    return bad("dedup_window must be positive and at most max_age");
  }
  if (o.ack_wait.count() <= 0) return bad("ack_wait must be positive");
  if (o.max_deliver < 1) return bad("max_deliver must be at least 1");
  if (o.max_ack_pending < 1) return bad("max_ack_pending must be at least 1");
  if (o.max_pending_appends < 1) return bad("max_pending_appends must be at least 1");
  if (o.connect_timeout.count() <= 0) return bad("connect_timeout must be positive");
  if (o.ping_interval.count() <= 0) return bad("ping_interval must be positive");
  if (o.consumer_check_interval.count() <= 0) {
    return bad("consumer_check_interval must be positive");
  }
  if (o.sweep_interval.count() <= 0) return bad("sweep_interval must be positive");
  return OkStatus();
}

Result<std::unique_ptr<EventLog>> ConnectJetStream(const JetStreamOptions& options) {
  RETURN_IF_ERROR(ValidateJetStreamOptions(options));
  ASSIGN_OR_RETURN(std::shared_ptr<NatsConnection> conn, NatsConnection::Open(options));
  ASSIGN_OR_RETURN(
      std::unique_ptr<internal::JetStreamPublisher> publisher,
      internal::JetStreamPublisher::Start(conn, static_cast<size_t>(options.max_pending_appends)));
  return std::unique_ptr<EventLog>(
      std::make_unique<JetStreamLog>(std::move(conn), std::move(publisher)));
}

}  // namespace aether::workflow
