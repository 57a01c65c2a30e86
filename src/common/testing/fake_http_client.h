// An HttpClient for unit tests: no sockets. Every request goes to a handler
// (on the calling thread) and is recorded. Cancellation behaves as in the
// real client: a request whose token is stopped before or while its handler
// runs fails with Unavailable "... cancelled", and Park() lets a handler
// model a long-poll that a stop request ends at once.
//
//   FakeHttpClient http([](const HttpClientRequest& r) -> Result<HttpResponse> {
//     if (r.url.ends_with("/health")) return FakeHttpClient::Reply(200, "{}");
//     return Unavailable("cannot connect to test:1: Connection refused");
//   });
//   ControlClientOptions o;
//   o.http = &http;
//
// Thread-safety: Send from any number of threads; SetHandler, Wake and the
// getters from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.h"

namespace aether {

class FakeHttpClient final : public HttpClient {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpClientRequest& request)>;

  // A request as it was sent (the body copied).
  struct Sent {
    std::string method;
    std::string url;
    std::string body;
    HttpHeaders headers;
    std::chrono::milliseconds timeout{0};

    // The URL from its path on ("/node/manifest?since=7").
    std::string Target() const {
      size_t scheme = url.find("://");
      size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
      return slash == std::string::npos ? "/" : url.substr(slash);
    }
    // The first header of that name (case-sensitive); empty when absent.
    std::string Header(std::string_view name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return v;
      }
      return "";
    }
  };

  // Without a handler every request gets 404.
  explicit FakeHttpClient(Handler handler = {}) : handler_(std::move(handler)) {}

  void SetHandler(Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }

  Result<HttpResponse> Send(const HttpClientRequest& request) override {
    Handler handler;
    {
      std::lock_guard lock(mu_);
      sent_.push_back(Sent{request.method, request.url, std::string(request.body), request.headers,
                           request.timeout});
      handler = handler_;
    }
    if (request.cancel.stop_requested()) return Cancelled(request);
    Result<HttpResponse> r = handler ? handler(request) : Reply(404, R"({"error":"no handler"})");
    if (request.cancel.stop_requested()) return Cancelled(request);
    return r;
  }

  // For handlers: waits up to `at_most`, or until the request is cancelled
  // or Wake() is called. True when it was cancelled.
  bool Park(const HttpClientRequest& request, std::chrono::milliseconds at_most) {
    std::unique_lock lock(mu_);
    uint64_t generation = generation_;
    parked_++;
    cv_.notify_all();
    cv_.wait_for(lock, request.cancel, at_most, [&] { return generation_ != generation; });
    parked_--;
    cv_.notify_all();
    return request.cancel.stop_requested();
  }
  // Ends every Park() in progress.
  void Wake() {
    std::lock_guard lock(mu_);
    ++generation_;
    cv_.notify_all();
  }
  // Waits up to `at_most` until `n` handlers are parked; true when they are.
  bool WaitParked(size_t n, std::chrono::milliseconds at_most) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, at_most, [&] { return parked_ >= n; });
  }

  std::vector<Sent> requests() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  // The requests whose URL contains `part`.
  std::vector<Sent> requests(std::string_view part) const {
    std::lock_guard lock(mu_);
    std::vector<Sent> out;
    for (const Sent& s : sent_) {
      if (s.url.find(part) != std::string::npos) out.push_back(s);
    }
    return out;
  }

  static Result<HttpResponse> Reply(int status, std::string body,
                                    std::string content_type = "application/json") {
    HttpResponse r;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
  }
  static Status Cancelled(const HttpClientRequest& request) {
    return Unavailable("HTTP " + request.method + " " + request.url + " cancelled");
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  Handler handler_;
  std::vector<Sent> sent_;
  uint64_t generation_ = 0;
  size_t parked_ = 0;
};

}  // namespace aether
