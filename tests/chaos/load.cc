#include "load.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "cluster.h"
#include "common/http_client.h"

namespace aether::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

IngressLoad::IngressLoad(std::string url) : url_(std::move(url)) {
  thread_ = std::thread([this] { Run(); });
}

void IngressLoad::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::set<int64_t> IngressLoad::Accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

std::string IngressLoad::FirstRefusal() const {
  std::lock_guard lock(mu_);
  return first_refusal_;
}

std::map<int64_t, int> IngressLoad::Other() const {
  std::lock_guard lock(mu_);
  return other_;
}

void IngressLoad::Run() {
  auto http = NewHttpClient({.max_idle_per_host = 1});
  auto next = SteadyClock::now();
  for (int64_t n = 1; !stop_; ++n) {
    std::string body = "ev-" + std::to_string(n);
    Result<HttpResponse> r =
        http->Send({.method = "POST", .url = url_, .body = body, .timeout = seconds(10)});
    int status = r.ok() ? r->status : 0;
    last_ = n;
    if (status == 503) {
      if (refused_++ == 0) {
        std::lock_guard lock(mu_);
        first_refusal_ = r->body;
      }
    } else {
      std::lock_guard lock(mu_);
      if (status == 202) {
        accepted_.insert(n);
      } else {
        other_[n] = status;
      }
    }
    // Pacing, not waiting for an outcome; no catch-up burst after a stall.
    next += milliseconds(1);
    std::this_thread::sleep_until(next);
    if (SteadyClock::now() > next + milliseconds(50)) next = SteadyClock::now();
  }
}

ExecuteLoad::ExecuteLoad(std::vector<std::string> engine_urls, std::string function)
    : urls_(std::move(engine_urls)), function_(std::move(function)) {
  thread_ = std::thread([this] { Run(); });
}

void ExecuteLoad::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> ExecuteLoad::Failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void ExecuteLoad::Run() {
  auto http = NewHttpClient({.max_idle_per_host = 1});
  std::string body = R"({"function": ")" + function_ + R"("})";
  while (!stop_) {
    for (const std::string& url : urls_) {
      Result<HttpResponse> r = http->Send(
          {.method = "POST", .url = url + "/execute", .body = body, .timeout = seconds(10)});
      if (r.ok() && r->status == 200) {
        ++ok_;
      } else {
        std::lock_guard lock(mu_);
        failures_.push_back(url + ": " + (r.ok() ? DescribeHttpError(*r) : r.status().message()));
      }
    }
    std::this_thread::sleep_for(milliseconds(5));  // pacing
  }
}

std::vector<int64_t> LoggedEvents(const std::string& path) {
  std::vector<int64_t> out;
  for (const std::string& part : {path + ".1", path}) {
    for (const std::string& line : FileLines(part)) {
      out.push_back(line.starts_with("ev-") ? std::atoll(line.c_str() + 3) : -1);
    }
  }
  return out;
}

bool AnyAfter(const std::vector<int64_t>& logged, int64_t after) {
  return std::any_of(logged.begin(), logged.end(), [&](int64_t n) { return n > after; });
}

}  // namespace aether::testing
