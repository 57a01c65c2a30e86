#include "common/endpoint_list.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "common/testing/fake_http_client.h"

namespace aether {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kThree = {"http://a:1", "http://b:2", "http://c:3"};

Status Refused(const std::string& host) {
  return Unavailable("cannot connect to " + host + ": Connection refused");
}

// Replies per host ("a", "b", "c"): what each replica does.
FakeHttpClient::Handler PerHost(std::map<std::string, Result<HttpResponse>> replies) {
  return [replies = std::move(replies)](const HttpClientRequest& r) -> Result<HttpResponse> {
    std::string host = r.url.substr(7, 1);
    auto it = replies.find(host);
    if (it == replies.end()) return FakeHttpClient::Reply(200, "{}");
    return it->second;
  };
}

EndpointList List(std::vector<std::string> urls = kThree) {
  return EndpointList(std::move(urls), {.pause = 0ms, .log_switches = false});
}

TEST(EndpointUrls, AcceptsHttpAndHttpsAndDropsTrailingSlashes) {
  std::vector<std::string> urls = {"http://a:7070/", "https://b.example:443", "http://[::1]:9",
                                   "http://c", "https://proxy:8443/aether//"};
  ASSERT_TRUE(CheckEndpointUrls(&urls, "[control] urls").ok());
  EXPECT_EQ(urls,
            (std::vector<std::string>{"http://a:7070", "https://b.example:443", "http://[::1]:9",
                                      "http://c", "https://proxy:8443/aether"}));
}

TEST(EndpointUrls, RefusesBadUrlsNamingThem) {
  for (const char* bad : {"ftp://a:1", "a:7070", "http://", "http://u:p@a:1", "http://a:1/?x=1",
                          "http://a:1/#f", "http://a:0", "http://a:70000", "http://a :1", ""}) {
    std::vector<std::string> urls = {"http://ok:1", bad};
    Status st = CheckEndpointUrls(&urls, "[control] urls");
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("[control] urls: invalid control plane URL"), std::string::npos)
        << st.message();
    EXPECT_EQ(st.message().find('\n'), std::string::npos);
    EXPECT_EQ(st.message().find(":p@"), std::string::npos);  // never a password
  }
}

TEST(EndpointUrls, RefusesEmptyDuplicateAndTooLongLists) {
  std::vector<std::string> none;
  EXPECT_EQ(CheckEndpointUrls(&none, "x").code(), Code::kInvalidArgument);
  std::vector<std::string> twice = {"http://a:1", "http://a:1/"};
  Status st = CheckEndpointUrls(&twice, "x");
  EXPECT_NE(st.message().find("listed twice"), std::string::npos) << st.message();
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxControlUrls; ++i) many.push_back("http://h" + std::to_string(i));
  st = CheckEndpointUrls(&many, "x");
  EXPECT_NE(st.message().find("at most 16"), std::string::npos) << st.message();
}

TEST(EndpointUrls, ParsesCommaSeparatedLists) {
  auto l = ParseEndpointList(" http://a:1 ,http://b:2/", "$AETHER_CONTROL");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(*l, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(ParseEndpointList("http://a:1", "x")->size(), 1u);
  for (const char* bad : {"", ",", "http://a:1,", "http://a:1,,http://b:2", "http://a:1,nope"}) {
    auto r = ParseEndpointList(bad, "$AETHER_CONTROL");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("$AETHER_CONTROL"), std::string::npos);
  }
  std::string many(100000, ',');
  EXPECT_NE(ParseEndpointList(many, "x").status().message().find("at most"), std::string::npos);
}

TEST(EndpointFailover, WhichFailuresMoveOn) {
  auto reply = [](int s) { return FakeHttpClient::Reply(s, "{}"); };
  Result<HttpResponse> refused = Refused("a:1");
  Result<HttpResponse> unresolved = Unavailable("cannot resolve a: Host not found");
  Result<HttpResponse> reset = Unavailable("HTTP GET http://a:1/x failed: reading the response");
  Result<HttpResponse> timeout = DeadlineExceeded("HTTP GET http://a:1/x timed out after 5 ms");
  Result<HttpResponse> cancelled = Unavailable("HTTP GET http://a:1/x cancelled");
  for (Retry retry : {Retry::kSafe, Retry::kIfNotSent}) {
    EXPECT_TRUE(ShouldFailOver(refused, retry));
    EXPECT_TRUE(ShouldFailOver(unresolved, retry));
    EXPECT_FALSE(ShouldFailOver(cancelled, retry));
    for (int s : {200, 201, 400, 401, 403, 404, 409, 413, 429}) {
      EXPECT_FALSE(ShouldFailOver(reply(s), retry)) << s;
    }
    EXPECT_FALSE(ShouldFailOver(reply(501), retry));  // the replica works; it cannot do it
  }
  EXPECT_TRUE(ShouldFailOver(reset, Retry::kSafe));
  EXPECT_TRUE(ShouldFailOver(timeout, Retry::kSafe));
  EXPECT_FALSE(ShouldFailOver(reset, Retry::kIfNotSent));
  EXPECT_FALSE(ShouldFailOver(timeout, Retry::kIfNotSent));
  for (int s : {500, 502, 503, 504}) {
    EXPECT_TRUE(ShouldFailOver(reply(s), Retry::kSafe)) << s;
    EXPECT_FALSE(ShouldFailOver(reply(s), Retry::kIfNotSent)) << s;
  }
}

TEST(EndpointFailover, SticksToTheReplicaThatWorks) {
  FakeHttpClient http(PerHost({{"a", Refused("a:1")}}));
  EndpointList list = List();
  EndpointAttempts at;
  auto r = list.Send(http, {.url = "/x"}, {}, &at);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(at.url, "http://b:2");
  EXPECT_EQ(at.tried, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(list.current(), "http://b:2");
  // Later requests go straight to b, even once a is back.
  http.SetHandler(PerHost({}));
  ASSERT_TRUE(list.Send(http, {.url = "/y"}, {}, &at).ok());
  EXPECT_EQ(at.tried, (std::vector<std::string>{"http://b:2"}));
  EXPECT_EQ(http.requests("/y").size(), 1u);
  EXPECT_EQ(http.requests("/y")[0].url, "http://b:2/y");
}

TEST(EndpointFailover, RotatesOnFiveHundredsAndWrapsAround) {
  FakeHttpClient http(
      PerHost({{"b", FakeHttpClient::Reply(503, "{}")}, {"c", DeadlineExceeded("timed out")}}));
  EndpointList list = List();
  list.Failed(0);  // now at b
  EndpointAttempts at;
  auto r = list.Send(http, {.url = "/x"}, {}, &at);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(at.tried, (std::vector<std::string>{"http://b:2", "http://c:3", "http://a:1"}));
  EXPECT_EQ(list.current(), "http://a:1");
}

TEST(EndpointFailover, FourHundredsAreFinal) {
  for (int s : {401, 404, 409}) {
    FakeHttpClient http(PerHost({{"a", FakeHttpClient::Reply(s, "{}")}}));
    EndpointList list = List();
    auto r = list.Send(http, {.url = "/x"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, s);
    EXPECT_EQ(http.requests().size(), 1u);
    EXPECT_EQ(list.current(), "http://a:1");
  }
}

TEST(EndpointFailover, EachUrlOnceThenOneErrorNamingThemAll) {
  FakeHttpClient http(
      PerHost({{"a", Refused("a:1")}, {"b", Refused("b:2")}, {"c", Refused("c:3")}}));
  EndpointList list = List();
  auto r = list.Send(http, {.url = "/x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(http.requests().size(), 3u);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("tried http://a:1, http://b:2, http://c:3"), std::string::npos) << m;
  EXPECT_NE(m.find("cannot connect to c:3"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  // All 503: the last answer comes back as an answer.
  http.SetHandler([](const HttpClientRequest&) { return FakeHttpClient::Reply(503, "{}"); });
  r = list.Send(http, {.url = "/x"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(http.requests().size(), 6u);
}

TEST(EndpointFailover, NotSafeRequestsMoveOnOnlyWhenNothingWasSent) {
  FakeHttpClient http(PerHost({{"a", Refused("a:1")}, {"b", FakeHttpClient::Reply(503, "{}")}}));
  EndpointList list = List();
  auto r =
      list.Send(http, {.method = "PUT", .url = "/api/functions/f"}, {.retry = Retry::kIfNotSent});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);  // b may have done it: not sent again to c
  EXPECT_EQ(http.requests().size(), 2u);
  EXPECT_EQ(list.current(), "http://c:3");  // but the next request goes there
  list.Failed(2);                           // back to a, refused; then b
  http.SetHandler(PerHost(
      {{"a", Refused("a:1")}, {"b", Unavailable("HTTP PUT x failed: reading the response")}}));
  r = list.Send(http, {.method = "PUT", .url = "/api/functions/f"}, {.retry = Retry::kIfNotSent});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(http.requests().size(), 4u);  // a (refused), b (lost mid-answer); not c
}

TEST(EndpointFailover, NotFoundTriesTheOthersWithoutMovingTheList) {
  FakeHttpClient http(PerHost({{"a", FakeHttpClient::Reply(404, R"({"error":"no"})")},
                               {"b", FakeHttpClient::Reply(404, R"({"error":"no"})")}}));
  EndpointList list = List();
  EndpointAttempts at;
  auto r = list.Send(http, {.url = "/node/artifacts/x"}, {.next_on_not_found = true}, &at);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(at.url, "http://c:3");
  EXPECT_EQ(list.current(), "http://a:1");  // a works; it just lacks this one
  http.SetHandler([](const HttpClientRequest&) { return FakeHttpClient::Reply(404, "{}"); });
  r = list.Send(http, {.url = "/node/artifacts/x"}, {.next_on_not_found = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

TEST(EndpointFailover, ACancelledRequestStopsAtOnce) {
  std::stop_source stop;
  FakeHttpClient http([&](const HttpClientRequest& r) -> Result<HttpResponse> {
    stop.request_stop();
    return FakeHttpClient::Cancelled(r);
  });
  EndpointList list(kThree, {.pause = 10s, .log_switches = false});
  auto r = list.Send(http, {.url = "/x", .cancel = stop.get_token()});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(http.requests().size(), 1u);
  EXPECT_EQ(list.current(), "http://a:1");
}

TEST(EndpointFailover, ThePauseEndsWhenTheRequestIsCancelled) {
  std::stop_source stop;
  FakeHttpClient http(
      [](const HttpClientRequest&) -> Result<HttpResponse> { return Refused("x:1"); });
  EndpointList list(kThree, {.pause = std::chrono::hours(1), .log_switches = false});
  std::thread stopper([&] {
    // Stops once the first attempt has failed (the list moved on).
    while (list.current_index() == 0) std::this_thread::yield();
    stop.request_stop();
  });
  auto r = list.Send(http, {.url = "/x", .cancel = stop.get_token()});
  stopper.join();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(http.requests().size(), 1u);
}

TEST(EndpointFailover, ThreadsThatSeeOneReplicaFailMoveTheListOnce) {
  EndpointList list = List();
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> go{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      go.fetch_add(1);
      while (go.load() < kThreads) std::this_thread::yield();
      list.Failed(0);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(list.current(), "http://b:2");
}

TEST(EndpointFailover, ManyThreadsSendingWhileReplicasFailEndOnAWorkingOne) {
  std::atomic<bool> a_down{true};
  FakeHttpClient http([&](const HttpClientRequest& r) -> Result<HttpResponse> {
    if (r.url.starts_with("http://a") && a_down.load()) return Refused("a:1");
    if (r.url.starts_with("http://b")) return FakeHttpClient::Reply(502, "{}");
    return FakeHttpClient::Reply(200, "{}");
  });
  EndpointList list = List();
  std::vector<std::thread> threads;
  threads.reserve(6);
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 50; ++n) {
        auto r = list.Send(http, {.url = "/x"});
        if (r.ok() && r->status == 200) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 300);  // every request found c
  EXPECT_EQ(list.current(), "http://c:3");
}

}  // namespace
}  // namespace aether
