#include "control/api.h"

#include "common/log.h"

namespace aether::control {

Status ControlApi::Authorize(const HttpRequest& req, Access access) const {
  switch (access) {
    case Access::kOpen:
      return OkStatus();
    case Access::kAdmin:
      return CheckBearer(req, {&ctx_.tokens.admin});
    case Access::kNode:
      return CheckBearer(req, {&ctx_.tokens.join, &ctx_.tokens.admin});
  }
  return Internal("unknown access level");
}

void ControlApi::CountResponse(const std::string& route, int status) {
  ctx_.metrics.requests.WithLabels({{"route", route}, {"status", std::to_string(status)}}).Inc();
}

GuardedHandler ControlApi::Inline(std::string route, Access access, AsyncFn fn) {
  GuardedHandler g;
  if (access != Access::kOpen) {
    g.check = [this, route, access](const HttpRequest& req) -> std::optional<HttpResponse> {
      Status st = Authorize(req, access);
      if (st.ok()) return std::nullopt;
      HttpResponse r = JsonError(st);
      if (st.code() == Code::kUnauthenticated) r.headers.emplace_back("WWW-Authenticate", "Bearer");
      CountResponse(route, r.status);
      return r;
    };
  }
  g.handler = [this, route = std::move(route), fn = std::move(fn)](HttpRequest&& req,
                                                                   Responder respond) {
    Responder counted = [this, route, respond = std::move(respond)](HttpResponse r) {
      CountResponse(route, r.status);
      respond(std::move(r));
    };
    fn(std::move(req), std::move(counted));
  };
  return g;
}

GuardedHandler ControlApi::Blocking(std::string route, Access access, SyncFn fn) {
  AsyncFn async = [this, fn = std::move(fn)](HttpRequest&& req, Responder respond) {
    auto shared = std::make_shared<HttpRequest>(std::move(req));
    bool queued = ctx_.workers.Submit([shared, fn, respond]() {
      // Off the IO thread the server's own catch-all does not apply.
      try {
        respond(fn(*shared));
      } catch (const std::exception& e) {
        LOG_ERROR("handler for {} {} threw: {}", shared->method, shared->path, e.what());
        respond(JsonError(500, "internal", "internal error"));
      }
    });
    if (!queued) respond(JsonError(503, "overloaded", "the control plane is busy; retry later"));
  };
  return Inline(std::move(route), access, std::move(async));
}

void ControlApi::Register(HttpServer& server) {
  RegisterFunctions(server);
  RegisterNodes(server);
  RegisterOps(server);
  RegisterWorkflows(server);
}

}  // namespace aether::control
