#include "control/api.h"

#include "common/json_util.h"
#include "common/log.h"
#include "protocol/ids.h"

namespace aether::control {

namespace {

constexpr std::string_view kJoinOnly =
    "the join token only admits new nodes (POST /register); this call needs the node's own "
    "credential (X-Aether-Node: <node id> and Authorization: Bearer <its secret>)";

HttpResponse AuthError(const Status& st) {
  if (st.code() == Code::kNotFound) {
    bool domain = st.message().starts_with("domain ");
    return JsonError(404, domain ? "unknown_domain" : "unknown_node",
                     st.message() + "; register again");
  }
  HttpResponse r = JsonError(st);
  if (st.code() == Code::kUnauthenticated) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace

std::optional<HttpResponse> ForeignNode(const Caller& caller, std::string_view claimed) {
  if (caller.kind != Caller::Kind::kNode || claimed == caller.node_id) return std::nullopt;
  std::string other = SanitizeUtf8(claimed.substr(0, 128));
  return JsonError(403, "permission_denied",
                   "the credential sent is node " + caller.node_id +
                       "'s; a node speaks only for itself, not for " + other);
}

Result<Caller> ControlApi::AuthorizeDomain(const HttpRequest& req, Access access) const {
  ASSIGN_OR_RETURN(std::string_view given, BearerToken(req));
  // Both shared tokens are always compared, so timing does not tell which
  // (if either) matched.
  bool admin = TokenEquals(given, ctx_.tokens.admin);
  bool join = TokenEquals(given, ctx_.tokens.domain_join);
  if ((admin || join) && access == Access::kDomainJoin) {
    return Caller{admin ? Caller::Kind::kAdmin : Caller::Kind::kDomainJoin, {}, {}};
  }
  if (admin || join) {
    return PermissionDenied(
        "this call needs the domain's own credential (X-Aether-Domain: <domain id> and "
        "Authorization: Bearer <its secret>), not a shared token");
  }
  std::string_view domain = req.Header("X-Aether-Domain");
  if (domain.empty()) return PermissionDenied("invalid token");
  if (Status st = protocol::ValidateNodeId(domain, "domain_id"); !st.ok()) {
    return PermissionDenied("X-Aether-Domain: " + st.message());
  }
  if (ctx_.domains == nullptr) {
    return PermissionDenied("this control plane is not a cluster controller ([domain] role = " +
                            std::string(ctx_.role) + ")");
  }
  RETURN_IF_ERROR(ctx_.domains->Authenticate(domain, given));
  return Caller{Caller::Kind::kDomain, {}, std::string(domain)};
}

Result<Caller> ControlApi::Authorize(const HttpRequest& req, Access access) const {
  if (access == Access::kOpen) return Caller{};
  if (access == Access::kDomainJoin || access == Access::kDomain) {
    return AuthorizeDomain(req, access);
  }
  if (access == Access::kNodeOrAdmin && ctx_.domains != nullptr &&
      !req.Header("X-Aether-Domain").empty()) {
    return AuthorizeDomain(req, Access::kDomain);
  }
  if (access == Access::kAdmin) {
    RETURN_IF_ERROR(CheckBearer(req, {&ctx_.tokens.admin}));
    return Caller{Caller::Kind::kAdmin, {}, {}};
  }
  ASSIGN_OR_RETURN(std::string_view given, BearerToken(req));
  // Both shared tokens are always compared, so timing does not tell which
  // (if either) matched.
  bool admin = TokenEquals(given, ctx_.tokens.admin);
  bool join = TokenEquals(given, ctx_.tokens.join);
  if (admin && access != Access::kNode) return Caller{Caller::Kind::kAdmin, {}, {}};
  if (join && access == Access::kJoin) return Caller{Caller::Kind::kJoin, {}, {}};
  if (admin || join) {
    return PermissionDenied(admin ? "this call needs the node's own credential, not the admin token"
                                  : std::string(kJoinOnly));
  }
  std::string_view node = req.Header("X-Aether-Node");
  if (node.empty()) return PermissionDenied("invalid token");
  if (Status st = protocol::ValidateNodeId(node); !st.ok()) {
    return PermissionDenied("X-Aether-Node: " + st.message());
  }
  RETURN_IF_ERROR(ctx_.nodes.Authenticate(node, given));
  return Caller{Caller::Kind::kNode, std::string(node), {}};
}

void ControlApi::CountResponse(RouteCount& route, int status) {
  if (status == 200) {
    Counter* ok = route.ok.load(std::memory_order_acquire);
    if (ok == nullptr) {
      ok = &ctx_.metrics.requests.WithLabels({{"route", route.route}, {"status", "200"}});
      route.ok.store(ok, std::memory_order_release);
    }
    return ok->Inc();
  }
  ctx_.metrics.requests.WithLabels({{"route", route.route}, {"status", std::to_string(status)}})
      .Inc();
}

// The access check runs twice: on the header (HeaderCheck: a refused upload
// is answered before its body is read) and again with the body read, where
// the handler needs the caller. Both look at headers only; a node revoked
// in between is refused by the second.
GuardedHandler ControlApi::InlineAs(std::string name, Access access, CallerAsyncFn fn) {
  // Lives as long as this ControlApi, as `this` in the lambdas below must.
  RouteCount* route = &route_counts_.emplace_back();
  route->route = std::move(name);
  GuardedHandler g;
  if (access != Access::kOpen) {
    g.check = [this, route, access](const HttpRequest& req) -> std::optional<HttpResponse> {
      Result<Caller> caller = Authorize(req, access);
      if (caller.ok()) return std::nullopt;
      HttpResponse r = AuthError(caller.status());
      CountResponse(*route, r.status);
      return r;
    };
  }
  g.handler = [this, route, access, fn = std::move(fn)](HttpRequest&& req, Responder respond) {
    Responder counted = [this, route, respond = std::move(respond)](HttpResponse r) {
      CountResponse(*route, r.status);
      respond(std::move(r));
    };
    Result<Caller> caller = Authorize(req, access);
    if (!caller.ok()) return counted(AuthError(caller.status()));
    fn(std::move(req), *caller, std::move(counted));
  };
  return g;
}

GuardedHandler ControlApi::Inline(std::string route, Access access, AsyncFn fn) {
  return InlineAs(std::move(route), access,
                  [fn = std::move(fn)](HttpRequest&& req, const Caller&, Responder respond) {
                    fn(std::move(req), std::move(respond));
                  });
}

GuardedHandler ControlApi::BlockingAs(std::string route, Access access, CallerSyncFn fn) {
  CallerAsyncFn async = [this, fn = std::move(fn)](HttpRequest&& req, const Caller& caller,
                                                   Responder respond) {
    auto shared = std::make_shared<HttpRequest>(std::move(req));
    OnWorkers(
        [shared, caller, fn, respond]() {
          // Off the IO thread the server's own catch-all does not apply.
          try {
            respond(fn(*shared, caller));
          } catch (const std::exception& e) {
            LOG_ERROR("handler for {} {} threw: {}", shared->method, shared->path, e.what());
            respond(JsonError(500, "internal", "internal error"));
          }
        },
        respond);
  };
  return InlineAs(std::move(route), access, std::move(async));
}

void ControlApi::OnWorkers(std::function<void()> work, const Responder& respond) {
  if (!ctx_.workers.Post(std::move(work)).ok())
    respond(JsonError(503, "overloaded", "the control plane is busy; retry later"));
}

Result<std::chrono::milliseconds> ControlApi::LongPollWait(const HttpRequest& req,
                                                           std::chrono::seconds max) {
  ASSIGN_OR_RETURN(std::optional<int64_t> wait, req.QueryInt("wait"));
  return std::chrono::milliseconds(std::min<int64_t>(wait.value_or(0), max.count()) * 1000);
}

GuardedHandler ControlApi::Blocking(std::string route, Access access, SyncFn fn) {
  return BlockingAs(
      std::move(route), access,
      [fn = std::move(fn)](const HttpRequest& req, const Caller&) { return fn(req); });
}

void ControlApi::Register(HttpServer& server) {
  RegisterFunctions(server);
  RegisterNodes(server);
  RegisterOps(server);
  RegisterCluster(server);
  RegisterWorkflows(server);
  RegisterDomains(server);
  RegisterIngress(server);
  RegisterStats(server);
  RegisterUi(server);
}

}  // namespace aether::control
