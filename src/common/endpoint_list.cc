#include "common/endpoint_list.h"

#include <boost/url/parse.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>

#include "common/log.h"

namespace aether {
namespace {

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// `url` for a message: at most 200 characters, and never a password.
std::string Shown(std::string_view url) {
  std::string out(url.substr(0, 200));
  size_t scheme = out.find("://");
  size_t at = out.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    out.replace(scheme + 3, at - scheme - 3, "...");
  }
  return out;
}

}  // namespace

Result<std::string> CheckEndpointUrl(std::string_view url) {
  std::string shown = Shown(url);
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid control plane URL \"" + shown + "\": " + std::string(why) +
                           " (expected http://HOST:PORT or https://HOST:PORT)");
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return bad("it contains a blank");
  }
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return bad("it is not a URL");
  if (parsed->scheme() != "http" && parsed->scheme() != "https") {
    return bad("the scheme must be http or https");
  }
  if (!parsed->has_authority() || parsed->host().empty()) return bad("it has no host");
  if (parsed->has_userinfo()) return bad("credentials do not go in the URL (use the token)");
  if (parsed->has_query() || parsed->has_fragment()) return bad("it has a query or fragment");
  if (parsed->has_port() && (parsed->port().empty() || parsed->port_number() == 0)) {
    return bad("the port must be 1-65535");
  }
  std::string out(url);
  while (out.back() == '/') out.pop_back();
  return out;
}

Status CheckEndpointUrls(std::vector<std::string>* urls, std::string_view what) {
  if (urls->empty()) return InvalidArgument(std::string(what) + ": no control plane URL");
  if (urls->size() > kMaxControlUrls) {
    return InvalidArgument(std::string(what) + ": " + std::to_string(urls->size()) +
                           " control plane URLs, at most " + std::to_string(kMaxControlUrls));
  }
  std::set<std::string> seen;
  for (std::string& url : *urls) {
    Result<std::string> u = CheckEndpointUrl(url);
    if (!u.ok()) return InvalidArgument(std::string(what) + ": " + u.status().message());
    url = std::move(*u);
    if (!seen.insert(url).second) {
      return InvalidArgument(std::string(what) + ": \"" + url + "\" is listed twice");
    }
  }
  return OkStatus();
}

Result<std::vector<std::string>> ParseEndpointList(std::string_view text, std::string_view what) {
  std::vector<std::string> urls;
  // Bounded before splitting: a huge value must not become a huge vector.
  size_t commas = 0;
  for (char c : text) commas += c == ',' ? 1 : 0;
  if (commas >= kMaxControlUrls) {
    return InvalidArgument(std::string(what) + ": " + std::to_string(commas + 1) +
                           " control plane URLs, at most " + std::to_string(kMaxControlUrls));
  }
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string part = Trimmed(text.substr(start, comma - start));
    if (part.empty()) {
      return InvalidArgument(std::string(what) +
                             ": an empty entry in a comma-separated list of URLs");
    }
    urls.push_back(std::move(part));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  RETURN_IF_ERROR(CheckEndpointUrls(&urls, what));
  return urls;
}

bool ShouldFailOver(const Result<HttpResponse>& result, Retry retry) {
  if (!result.ok()) {
    const Status& st = result.status();
    if (NothingWasSent(st)) return true;
    if (retry == Retry::kIfNotSent) return false;
    // A cancelled request is the caller stopping, not the replica failing.
    bool cancelled = st.message().ends_with(" cancelled");
    return !cancelled && (st.code() == Code::kUnavailable || st.code() == Code::kDeadlineExceeded);
  }
  if (retry == Retry::kIfNotSent) return false;
  int s = result->status;
  return s == 500 || s == 502 || s == 503 || s == 504;
}

EndpointList::EndpointList(std::vector<std::string> urls, EndpointListOptions options)
    : urls_(std::move(urls)), options_(options) {
  CHECK(!urls_.empty());
}

std::string JoinUrls(const std::vector<std::string>& urls) {
  std::string out;
  for (const std::string& u : urls) out += (out.empty() ? "" : ", ") + u;
  return out;
}

size_t EndpointList::Failed(size_t index) {
  size_t expected = index;
  size_t next = (index + 1) % urls_.size();
  if (current_.compare_exchange_strong(expected, next)) return next;
  return expected;  // another thread moved it already
}

bool EndpointList::Pause(const std::stop_token& cancel) const {
  if (options_.pause.count() <= 0) return !cancel.stop_requested();
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, cancel, options_.pause, [] { return false; }) &&
         !cancel.stop_requested();
}

Result<HttpResponse> EndpointList::Send(HttpClient& http, HttpClientRequest request,
                                        EndpointSendOptions options, EndpointAttempts* attempts) {
  const std::string path = std::move(request.url);
  EndpointAttempts local;
  EndpointAttempts& a = attempts != nullptr ? *attempts : local;
  a = {};
  const size_t start = current_index();
  std::optional<Result<HttpResponse>> last;
  std::optional<HttpResponse> not_found;
  for (size_t n = 0; n < urls_.size(); ++n) {
    if (n > 0 && !Pause(request.cancel)) break;
    const size_t index = (start + n) % urls_.size();
    const std::string& base = urls_[index];
    request.url = base + path;
    a.url = base;
    a.tried.push_back(base);
    Result<HttpResponse> r = http.Send(request);
    a.last_error = r.ok() ? OkStatus() : r.status();
    if (request.cancel.stop_requested()) return r;
    bool lacks_it = options.next_on_not_found && r.ok() && r->status == 404;
    if (!lacks_it && !ShouldFailOver(r, options.retry)) {
      // Not sent again, but the replica is not working: the next request
      // goes to another one (a join that keeps getting 503 from a replica
      // cut off from its store must not stay there).
      if (ShouldFailOver(r, Retry::kSafe)) Failed(index);
      if (r.ok() && options_.log_switches && last_good_.exchange(index) != index) {
        LOG_INFO("control plane: now talking to {}", base);
      }
      return r;
    }
    if (lacks_it) {
      // The replica works; it just does not have this one: the list stays.
      not_found = std::move(*r);
      continue;
    }
    LOG_DEBUG("control plane {}: {} failed; trying the next URL", base, path);
    Failed(index);
    last = std::move(r);
  }
  if (not_found) return std::move(*not_found);
  if (!last) return Unavailable(request.method + " " + path + " cancelled");
  if (last->ok() || urls_.size() == 1) return std::move(*last);
  const Status& st = last->status();
  return Status(st.code(), "no control plane answered (tried " + JoinUrls(a.tried) +
                               "); last: " + st.message());
}

}  // namespace aether
