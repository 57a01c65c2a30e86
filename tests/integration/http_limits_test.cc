// The real aether-control and aether-engine against hostile HTTP clients:
// unauthenticated uploads refused on their header (never read), slowloris
// connections cut off at header_timeout while others are served, one
// address held to max_connections_per_client, and short configured tokens
// refused at startup. Raw sockets on 127.0.0.1; every process is stopped by
// its PID (process.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster.h"
#include "common/raw_conn_test_util.h"
#include "common/testing/http_fetch.h"

namespace aether::testing {
namespace {

// The header of a ~4 MB upload and its first kilobyte: a server that waits
// for the rest before answering does not answer within the test's timeout.
std::string UploadStart(std::string_view method, std::string_view path,
                        std::string_view authorization) {
  std::string head = std::string(method) + " " + std::string(path) +
                     " HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n";
  if (!authorization.empty()) head += "Authorization: " + std::string(authorization) + "\r\n";
  return head + "\r\n" + std::string(1024, 'x');
}

// What the server answers to UploadStart within 3 s; nullopt when it is
// still waiting for the body.
std::optional<RawConn::Response> AnswerToUpload(uint16_t port, std::string_view method,
                                                std::string_view path,
                                                std::string_view authorization) {
  RawConn c(port);
  if (!c.Send(UploadStart(method, path, authorization))) return std::nullopt;
  return c.Read(seconds(3));
}

// The refusal's JSON body names its code (JsonError writes it compactly).
bool HasCode(const RawConn::Response& r, std::string_view code) {
  return r.body().find("\"code\":\"" + std::string(code) + "\"") != std::string::npos;
}

bool HealthWorks(const std::string& url) {
  auto r = HttpFetch("GET", url + "/health", {}, {}, seconds(3));
  return r.ok() && r->status == 200;
}

std::string Metrics(const std::string& url) {
  auto r = HttpFetch("GET", url + "/metrics", {}, {}, seconds(5));
  return r.ok() ? r->body : "";
}

TEST(HttpLimitsIntegration, ControlRefusesUnauthenticatedUploadsOnTheHeader) {
  Control control;
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/api/functions"},
      {"PUT", "/api/functions/big"},
      {"POST", "/api/workflows"},
      {"POST", "/api/invoke/big"},
      {"POST", "/register"},
      {"POST", "/node/heartbeat"},
      {"POST", "/node/workflows/status"},
      {"POST", "/callback"}};
  for (const auto& [method, path] : routes) {
    SCOPED_TRACE(method + " " + path);
    auto none = AnswerToUpload(control.port(), method, path, "");
    ASSERT_TRUE(none) << "no answer before the body";
    EXPECT_EQ(none->result_int(), 401u);
    EXPECT_TRUE(HasCode(*none, "unauthenticated")) << none->body();
    EXPECT_EQ((*none)["WWW-Authenticate"], "Bearer");
    EXPECT_EQ((*none)[boost::beast::http::field::connection], "close");
    auto wrong = AnswerToUpload(control.port(), method, path, "Bearer wrong-token-0123456789");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->result_int(), 403u);
    EXPECT_TRUE(HasCode(*wrong, "permission_denied")) << wrong->body();
  }
  // The join token is no admin token, also on the header.
  auto join =
      AnswerToUpload(control.port(), "PUT", "/api/functions/big", "Bearer " + control.join());
  ASSERT_TRUE(join);
  EXPECT_EQ(join->result_int(), 403u);
  EXPECT_TRUE(HasCode(*join, "permission_denied")) << join->body();

  // Refusals are counted under their route, and the API still works.
  EXPECT_NE(
      Metrics(control.url())
          .find(R"(aether_control_requests_total{route="POST /api/functions",status="401"} 1)"),
      std::string::npos);
  EXPECT_EQ(control.Deploy("hello", "hello").status, 201);
}

TEST(HttpLimitsIntegration, EngineDataplaneRefusesUnauthenticatedUploadsOnTheHeader) {
  Control control;
  Engine engine(control, "edge-1");
  for (std::string_view path : {"/dataplane/v1/events", "/dataplane/v1/call"}) {
    SCOPED_TRACE(path);
    auto none = AnswerToUpload(engine.process().port(), "POST", path, "");
    ASSERT_TRUE(none) << "no answer before the body";
    EXPECT_EQ(none->result_int(), 401u);
  }
  EXPECT_TRUE(HealthWorks(engine.process().url()));
}

TEST(HttpLimitsIntegration, ControlCutsOffSlowlorisAndServesOthers) {
  Control control("[server]\nheader_timeout = \"1s\"\n");
  constexpr int kConns = 30;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < kConns; ++i) conns.push_back(std::make_unique<RawConn>(control.port()));
  const std::string header =
      "POST /api/functions HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(100, 's');
  auto start = Clock::now();
  bool served = false;
  int silent = kConns;
  for (size_t sent = 0; silent > 0 && Clock::now() - start < seconds(10); ++sent) {
    silent = 0;
    for (auto& c : conns) {
      if (!c->Silent()) continue;
      ++silent;
      c->Send(std::string_view(header).substr(sent % header.size(), 1));  // one byte each
    }
    if (!served) served = HealthWorks(control.url());
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_TRUE(served) << "/health answers during the attack";
  EXPECT_EQ(silent, 0) << "slowloris connections still held";
  EXPECT_LT(Clock::now() - start, seconds(8));
  auto answer = conns[0]->Read(milliseconds(500));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result_int(), 408u);
  EXPECT_TRUE(HasCode(*answer, "request_timeout")) << answer->body();
  EXPECT_NE(
      Metrics(control.url())
          .find("aether_http_request_timeouts_total{phase=\"header\"} " + std::to_string(kConns)),
      std::string::npos);
}

TEST(HttpLimitsIntegration, ControlCapsConnectionsPerClient) {
  Control control("[server]\nmax_connections_per_client = 8\n");
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<RawConn>(control.port()));
    ASSERT_TRUE(held.back()->Send(RawGet("/health")));
    ASSERT_TRUE(held.back()->Read()) << i;  // kept alive afterwards
  }
  RawConn over(control.port());
  over.Send(RawGet("/health"));
  EXPECT_FALSE(over.Read(seconds(2))) << "the ninth connection is closed unanswered";
  for (auto& c : held) {
    ASSERT_TRUE(c->Send(RawGet("/health")));
    EXPECT_TRUE(c->Read()) << "the first eight are still served";
  }
  held.pop_back();
  std::string metrics;
  ASSERT_TRUE(WaitFor([&] {
    metrics = Metrics(control.url());  // needs the freed slot
    return !metrics.empty();
  }));
  EXPECT_NE(metrics.find("aether_http_connections_rejected_total{reason=\"client_limit\"} "),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("aether_http_connections_rejected_total{reason=\"client_limit\"} 0"),
            std::string::npos);
}

TEST(HttpLimitsIntegration, ShortTokensStopTheStart) {
  TempDir dir;
  std::string db = "[database]\npath = \"" + dir / "d/aether.db" + "\"\n";
  WriteFile(dir / "admin.toml", db + "[auth]\ntoken = \"short\"\n");
  ExitResult r = RunToExit(kControl, {"--config", dir / "admin.toml", "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[auth] token is 5 characters; it must be at least 16"),
            std::string::npos)
      << r.output;

  WriteFile(dir / "engine.toml", "[runtime]\ndata_dir = \"" + dir / "e" +
                                     "\"\n[auth]\njoin_token = \"join-me-please\"\n");
  r = RunToExit(kEngine, {"--config", dir / "engine.toml", "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[auth] join_token is 14 characters"), std::string::npos) << r.output;

  // A short token written into the token file by hand is refused as well.
  WriteFile(dir / "file.toml", db);
  std::filesystem::create_directories(dir / "d");
  WriteFile(dir / "d/admin.token", "abc\n");
  r = RunToExit(kControl, {"--config", dir / "file.toml", "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("admin.token"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("at least 16"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aether::testing
