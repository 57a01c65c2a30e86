#include "workflow/internal/jetstream_publisher.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "common/json_util.h"
#include "common/log.h"

namespace aether::workflow::internal {
namespace {

using Clock = std::chrono::steady_clock;

// While a publish waits for its PubAck, how often it looks whether the
// connection was re-established meanwhile (its PubAck may have been lost
// with the old link: then it publishes again). Not a timeout: the caller's
// deadline is.
constexpr std::chrono::milliseconds kReconnectCheck{250};
// How long the destructor waits for the inbox's last callback.
constexpr std::chrono::seconds kCloseWait{10};

// The server's answer to one publish, as the inbox callback found it.
struct Reply {
  bool no_responders = false;
  bool stored = false;
  int code = 0;  // the error's HTTP-like code
  jsErrCode err_code = jsErrCode(0);
  std::string description;  // the error's text (or why the reply was not understood)
};

// One Publish waiting for its reply; lives on the caller's stack while it
// is in State::waiters.
struct Waiter {
  std::condition_variable cv;
  bool done = false;
  Reply reply;
};

Reply ParseReply(natsMsg* msg) {
  Reply r;
  if (natsMsg_IsNoResponders(msg)) {
    r.no_responders = true;
    return r;
  }
  std::string_view data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  Result<boost::json::object> obj = ParseJsonObject(data, "PubAck");
  if (!obj.ok()) {
    r.description = "unexpected answer from JetStream: " + obj.status().message();
    return r;
  }
  if (const boost::json::value* err = obj->if_contains("error"); err != nullptr) {
    if (const boost::json::object* e = err->if_object(); e != nullptr) {
      Result<int64_t> code = GetInt(*e, "code", 0);
      Result<int64_t> err_code = GetInt(*e, "err_code", 0);
      Result<std::string> text = GetString(*e, "description", "");
      if (code.ok()) r.code = static_cast<int>(*code);
      if (err_code.ok()) r.err_code = jsErrCode(*err_code);
      if (text.ok()) r.description = *text;
    }
    if (r.description.empty()) r.description = "JetStream refused the event: " + ToJson(*err);
    return r;
  }
  r.stored = obj->contains("stream");  // "duplicate": true is stored too
  if (!r.stored) r.description = "unexpected answer from JetStream: " + std::string(data);
  return r;
}

uint64_t SeqOf(const char* subject) {
  const char* dot = subject != nullptr ? std::strrchr(subject, '.') : nullptr;
  return dot != nullptr ? std::strtoull(dot + 1, nullptr, 10) : 0;
}

}  // namespace

struct JetStreamPublisher::State {
  std::string inbox;  // "_INBOX.<nuid>": replies come to "<inbox>.<seq>"
  natsSubscription* sub = nullptr;
  size_t max_in_flight = 1;
  std::mutex mu;
  std::condition_variable room;  // a waiter left
  std::condition_variable closed_cv;
  bool closed = false;  // the inbox callback will not run again
  uint64_t next = 1;
  std::unordered_map<uint64_t, Waiter*> waiters;

  void Forget(uint64_t seq) {
    waiters.erase(seq);
    room.notify_one();
  }

  static void OnReply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* st = static_cast<State*>(closure);
    Reply r = ParseReply(msg);
    uint64_t seq = SeqOf(natsMsg_GetSubject(msg));
    natsMsg_Destroy(msg);
    std::lock_guard lock(st->mu);
    auto it = st->waiters.find(seq);
    if (it == st->waiters.end()) return;  // gave up (deadline), or a repeat's answer
    Waiter* w = it->second;
    w->reply = std::move(r);
    w->done = true;
    // Under the lock: the waiter cannot see `done` and go before this.
    w->cv.notify_one();
    st->Forget(seq);
  }
  static void OnComplete(void* closure) {
    auto* st = static_cast<State*>(closure);
    std::lock_guard lock(st->mu);
    st->closed = true;
    st->closed_cv.notify_all();
  }
};

Result<std::unique_ptr<JetStreamPublisher>> JetStreamPublisher::Start(
    std::shared_ptr<NatsConnection> conn, size_t max_in_flight) {
  auto state = std::make_unique<State>();
  state->max_in_flight = std::max<size_t>(1, max_in_flight);
  natsInbox* inbox = nullptr;
  natsStatus s = natsInbox_Create(&inbox);
  if (s != NATS_OK) return conn->Error("cannot create an inbox for PubAcks", s);
  state->inbox = inbox;
  natsInbox_Destroy(inbox);
  std::string wildcard = state->inbox + ".*";
  s = natsConnection_Subscribe(&state->sub, conn->nc(), wildcard.c_str(), State::OnReply,
                               state.get());
  if (s == NATS_OK)
    s = natsSubscription_SetOnCompleteCB(state->sub, State::OnComplete, state.get());
  // Replies are small and each one has a caller waiting: no pending limit
  // of ours (the in-flight bound already caps them).
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(state->sub, -1, -1);
  if (s != NATS_OK) {
    Status err = conn->Error("cannot subscribe to the PubAck inbox", s);
    natsSubscription_Destroy(state->sub);
    return err;
  }
  return std::unique_ptr<JetStreamPublisher>(
      new JetStreamPublisher(std::move(conn), std::move(state)));
}

JetStreamPublisher::JetStreamPublisher(std::shared_ptr<NatsConnection> conn,
                                       std::unique_ptr<State> state)
    : conn_(std::move(conn)), state_(std::move(state)) {}

JetStreamPublisher::~JetStreamPublisher() {
  natsSubscription_Unsubscribe(state_->sub);
  bool closed = false;
  {
    std::unique_lock lock(state_->mu);
    closed = state_->closed_cv.wait_for(lock, kCloseWait, [&] { return state_->closed; });
  }
  natsSubscription_Destroy(state_->sub);
  if (!closed) {
    // The callback may still run: leaking the state is safe, freeing it
    // is not.
    LOG_ERROR("NATS: the PubAck inbox did not close within {} s; leaving its state",
              kCloseWait.count());
    (void)state_.release();
  }
}

namespace {

// Builds and publishes one event with `reply` as its reply subject.
Status Send(const NatsConnection& conn, const std::string& subject, const std::string& reply,
            const std::string& stream, const LogEvent& event) {
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), reply.c_str(), event.payload.data(),
                                static_cast<int>(event.payload.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, kMsgIdHeader, event.id.c_str());
  // Never stored by a stream that is not ours.
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Expected-Stream", stream.c_str());
  if (s == NATS_OK && !event.source.empty()) {
    s = natsMsgHeader_Set(msg, kSourceHeader, event.source.c_str());
  }
  if (s != NATS_OK) {
    natsMsg_Destroy(msg);
    return conn.Error("cannot build event " + event.id, s);
  }
  s = natsConnection_PublishMsg(conn.nc(), msg);
  natsMsg_Destroy(msg);
  if (s == NATS_OK) return OkStatus();
  if (s == NATS_MAX_PAYLOAD) {
    return InvalidArgument("event " + event.id + " of " + std::to_string(event.payload.size()) +
                           " bytes is larger than the NATS server's max_payload");
  }
  return conn.Error("cannot append event " + event.id, s);
}

// How many times the connection was re-established; 0 while it is down
// (so a publish is repeated only once it can go out).
uint64_t Reconnects(const NatsConnection& conn) {
  if (!conn.Connected()) return 0;
  natsStatistics* stats = nullptr;
  uint64_t n = 0;
  if (natsStatistics_Create(&stats) == NATS_OK &&
      natsConnection_GetStats(conn.nc(), stats) == NATS_OK) {
    (void)natsStatistics_GetCounts(stats, nullptr, nullptr, nullptr, nullptr, &n);
  }
  natsStatistics_Destroy(stats);
  return n;
}

}  // namespace

JetStreamPublisher::Outcome JetStreamPublisher::Publish(const std::string& subject,
                                                        const std::string& stream,
                                                        const LogEvent& event,
                                                        Clock::time_point deadline) {
  State& st = *state_;
  Waiter w;
  uint64_t seq = 0;
  {
    std::unique_lock lock(st.mu);
    bool room =
        st.room.wait_until(lock, deadline, [&] { return st.waiters.size() < st.max_in_flight; });
    if (!room) {
      return {Unavailable("event " + event.id + " was not appended before its deadline: " +
                          std::to_string(st.max_in_flight) +
                          " appends were already waiting for NATS ([nats] max_pending_appends)"),
              false};
    }
    seq = st.next++;
    st.waiters.emplace(seq, &w);
  }
  const std::string reply = st.inbox + "." + std::to_string(seq);
  uint64_t reconnects = Reconnects(*conn_);
  if (Status sent = Send(*conn_, subject, reply, stream, event); !sent.ok()) {
    std::lock_guard lock(st.mu);
    st.Forget(seq);
    return {sent, false};
  }
  std::unique_lock lock(st.mu);
  while (!w.done) {
    auto now = Clock::now();
    if (now >= deadline) {
      st.Forget(seq);
      return {Unavailable("event " + event.id + " was not confirmed by NATS before its deadline"),
              false};
    }
    w.cv.wait_until(lock, std::min(deadline, now + kReconnectCheck));
    if (w.done) break;
    lock.unlock();
    // The link came back since the last publish: the PubAck may be lost
    // with the old one. The same id makes a second copy a no-op.
    if (uint64_t r = Reconnects(*conn_); r != 0 && r != reconnects) {
      reconnects = r;
      (void)Send(*conn_, subject, reply, stream, event);
    }
    lock.lock();
  }
  const Reply& r = w.reply;
  if (r.stored) return {OkStatus(), false};
  if (r.no_responders) {
    return {Unavailable("nobody answered the append of event " + event.id), true};
  }
  if (r.code == 0 && r.err_code == 0) return {Internal(r.description), false};
  return {conn_->ErrorWithText("cannot append event " + event.id + " to stream " + stream, NATS_ERR,
                               r.err_code, r.description),
          false};
}

}  // namespace aether::workflow::internal
