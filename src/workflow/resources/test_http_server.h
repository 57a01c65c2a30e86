// A local HTTP server for the resource tests (127.0.0.1, an ephemeral
// port): POST /in records each body and answers 200 "ok"; POST /hold keeps
// the answer until Release() (or the end); any other path is 404. Tests add
// routes of their own on server() before Start().
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/http_server.h"

namespace aether::workflow::resources::testing {

class RecordingServer {
 public:
  RecordingServer() {
    server_.Route("POST", "/in", [this](HttpRequest&& req, const Responder& respond) {
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(req.body);
      }
      cv_.notify_all();
      respond(HttpResponse{200, "text/plain", "ok", {}});
    });
    server_.Route("POST", "/hold", [this](HttpRequest&&, Responder respond) {
      std::lock_guard lock(mu_);
      held_.push_back(std::move(respond));
    });
  }
  ~RecordingServer() { Release(); }

  HttpServer& server() { return server_; }
  void Start() { ASSERT_TRUE(server_.Start().ok()); }
  std::string url() const { return server_.url(); }
  uint16_t port() const { return server_.port(); }

  // Answers every held request.
  void Release() {
    std::vector<Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& r : held) r(HttpResponse{200, "text/plain", "late", {}});
  }
  bool WaitBodies(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return bodies_.size() >= n; });
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  HttpServer server_{HttpServerOptions{}};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> bodies_;
  std::vector<Responder> held_;
};

}  // namespace aether::workflow::resources::testing
