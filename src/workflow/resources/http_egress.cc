#include "workflow/resources/http_egress.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <stop_token>
#include <utility>

#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/work_queue.h"
#include "workflow/edgeless_http.h"
#include "workflow/resources/egress_policy.h"

namespace aether::workflow::resources {
namespace {

namespace json = boost::json;

constexpr std::string_view kResponseOutput = "response";
constexpr size_t kErrorBodyPreview = 200;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class HttpEgress final : public Resource {
 public:
  HttpEgress(ResourceContext ctx, HttpEgressConfig config)
      : ctx_(std::move(ctx)),
        config_(std::move(config)),
        policy_(config_.allow, config_.node_policy && ctx_.limits.egress_public_by_default),
        http_(NewHttpClient({.max_response_bytes = config_.max_response})),
        queue_(WorkQueueOptions{"http-egress: the request queue", 1,
                                ctx_.limits.http_egress_queue_length, kEgressQueueBytes}) {}
  ~HttpEgress() override { Stop(); }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    // Validate at once: a bad request is the sender's error, not a failure
    // found later on another thread.
    ASSIGN_OR_RETURN(Prepared p, Prepare(payload));
    uint64_t bytes = payload.size();
    return queue_.Post(
        [this, p = std::move(p)] {
          Result<std::string> body = Perform(p, config_.timeout);
          if (!body.ok()) {
            ctx_.report_failure(body.status().message());
            return;
          }
          std::vector<std::string> outputs = ctx_.outputs();
          if (std::find(outputs.begin(), outputs.end(), kResponseOutput) == outputs.end()) return;
          Status st = ctx_.cast(kResponseOutput, *body);
          if (!st.ok()) {
            ctx_.report_failure("http-egress: cannot send the response to \"response\": " +
                                st.message());
          }
        },
        bytes, wait_until);
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds timeout) override {
    ASSIGN_OR_RETURN(Prepared p, Prepare(payload));
    return Perform(p, std::min(timeout, config_.timeout));
  }

  // EDGELESS's HTTP request JSON as Aether's request (edgeless_http.h).
  static Result<EgressRequest> FromEdgeless(std::string_view payload) {
    Result<EdgelessRequest> e = DecodeEdgelessRequest(payload);
    if (!e.ok()) return InvalidArgument("http-egress: " + e.status().message());
    json::object req;
    req["method"] = e->method;
    req["url"] = (e->https ? "https://" : "http://") + e->host + e->path;
    json::object headers;
    for (const auto& [k, v] : e->headers) headers[k] = v;
    req["headers"] = std::move(headers);
    if (e->method != "GET" && e->method != "HEAD") req["body"] = e->body;
    return ParseEgressRequest(json::serialize(req));
  }

  void Stop() override {
    stop_.request_stop();  // a request in flight ends now, not at its timeout
    size_t dropped = queue_.Stop();
    if (dropped > 0) {
      LOG_WARN("{}: {} queued http-egress request(s) dropped at stop", ctx_.instance_id, dropped);
    }
  }

 private:
  struct Prepared {
    EgressRequest req;
    EgressTarget target;
  };

  // The checks that need no network: the payload, the URL, the allow list.
  Result<Prepared> Prepare(std::string_view payload) const {
    if (config_.node_policy && !ctx_.limits.egress_public_by_default) {
      return PermissionDenied(
          "http-egress: this resource has no allow list, and this engine's [workflow] "
          "egress_default is \"none\": give it an \"allow\" list");
    }
    ASSIGN_OR_RETURN(EgressRequest req,
                     config_.edgeless ? FromEdgeless(payload) : ParseEgressRequest(payload));
    ASSIGN_OR_RETURN(EgressTarget target, ParseEgressUrl(req.url));
    RETURN_IF_ERROR(policy_.CheckTarget(target));
    return Prepared{std::move(req), std::move(target)};
  }

  // Every error names http-egress (the message goes to callers and logs as is).
  Result<std::string> Perform(const Prepared& p, std::chrono::milliseconds timeout) const {
    const EgressRequest& req = p.req;
    // The client resolves once, asks this about every address and connects
    // only to one it accepted, on a connection of this request's own: the
    // address checked is the address used.
    Result<HttpResponse> r = http_->Send({.method = req.method,
                                          .url = req.url,
                                          .body = req.body,
                                          .headers = req.headers,
                                          .timeout = timeout,
                                          .cancel = stop_.get_token(),
                                          .check_address = [this, &p](const IpAddress& address) {
                                            return policy_.CheckAddress(p.target, address);
                                          }});
    if (!r.ok()) {
      const std::string& m = r.status().message();
      return Status(r.status().code(), m.starts_with("http-egress: ") ? m : "http-egress: " + m);
    }
    if (config_.edgeless) {
      // EDGELESS's egress answers every status: the function decides.
      // Lower-case names, as EDGELESS's HTTP client gives them.
      std::map<std::string, std::string> headers;
      for (const auto& [k, v] : r->headers) headers[Lower(k)] = v;
      return EncodeEdgelessResponse(r->status, r->body, headers);
    }
    if (r->status < 200 || r->status > 299) {
      std::string preview = r->body.substr(0, kErrorBodyPreview);
      return Internal("http-egress: " + req.method + " " + UrlForMessages(req.url) + " answered " +
                      std::to_string(r->status) + (preview.empty() ? "" : ": " + preview));
    }
    return std::move(r->body);
  }

  ResourceContext ctx_;
  const HttpEgressConfig config_;
  const EgressPolicy policy_;
  const std::unique_ptr<HttpClient> http_;  // keeps no connections (max_idle_per_host 0)
  std::stop_source stop_;
  WorkQueue queue_;  // last: its thread uses the members above
};

}  // namespace

Result<EgressRequest> ParseEgressRequest(std::string_view payload) {
  std::string_view trimmed = payload;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
    trimmed.remove_prefix(1);
  }
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
    trimmed.remove_suffix(1);
  }
  EgressRequest req;
  if (!trimmed.starts_with('{')) {
    if (!trimmed.starts_with("http://") && !trimmed.starts_with("https://")) {
      return InvalidArgument(
          "http-egress: the payload must be a JSON request {\"url\", \"method\"?, "
          "\"headers\"?, \"body\"?} or an http:// or https:// URL");
    }
    req.method = "GET";
    req.url = std::string(trimmed);
    return req;
  }
  auto obj = ParseJsonObject(trimmed, "http-egress request");
  if (!obj.ok()) return InvalidArgument("http-egress: " + obj.status().message());
  for (const auto& [key, value] : *obj) {
    if (key != "method" && key != "url" && key != "headers" && key != "body") {
      return InvalidArgument("http-egress: unknown field \"" + std::string(key) +
                             "\" (known: method, url, headers, body)");
    }
  }
  auto url = GetString(*obj, "url");
  if (!url.ok()) return InvalidArgument("http-egress: " + url.status().message());
  req.url = std::move(*url);
  auto body = GetString(*obj, "body", "");
  if (!body.ok()) return InvalidArgument("http-egress: " + body.status().message());
  req.body = std::move(*body);
  bool has_body = obj->contains("body") && !obj->at("body").is_null();
  auto method = GetString(*obj, "method", has_body ? "POST" : "GET");
  if (!method.ok()) return InvalidArgument("http-egress: " + method.status().message());
  req.method = std::move(*method);
  if (!IsHttpToken(req.method) || req.method.size() > 32) {
    return InvalidArgument("http-egress: invalid method \"" + SanitizeUtf8(req.method) + "\"");
  }
  std::transform(req.method.begin(), req.method.end(), req.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (const auto* h = obj->if_contains("headers"); h != nullptr && !h->is_null()) {
    if (!h->is_object()) return InvalidArgument("http-egress: field \"headers\" must be an object");
    for (const auto& [name, value] : h->as_object()) {
      if (!value.is_string()) {
        return InvalidArgument("http-egress: header \"" + std::string(name) +
                               "\" must be a string");
      }
      if (!IsHttpToken(name)) {
        return InvalidArgument("http-egress: invalid header name \"" + std::string(name) + "\"");
      }
      std::string lower = Lower(name);
      if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" ||
          lower == "connection") {
        return InvalidArgument("http-egress: the header \"" + std::string(name) +
                               "\" is set by the engine");
      }
      std::string_view v = value.as_string();
      if (v.find_first_of("\r\n") != std::string_view::npos || v.find('\0') != v.npos) {
        return InvalidArgument("http-egress: header \"" + std::string(name) +
                               "\" has a line break in its value");
      }
      req.headers.emplace_back(std::string(name), std::string(v));
    }
  }
  return req;
}

Status CheckEgressUrl(std::string_view url, const std::vector<std::string>& allow) {
  ASSIGN_OR_RETURN(EgressTarget target, ParseEgressUrl(url));
  return EgressPolicy(allow).CheckTarget(target);
}

std::unique_ptr<Resource> NewHttpEgress(ResourceContext ctx, HttpEgressConfig config) {
  return std::make_unique<HttpEgress>(std::move(ctx), std::move(config));
}

}  // namespace aether::workflow::resources
