// CreateResource (workflow/resource.h): the configuration is parsed
// with common/resource_config.h, the same parsers the control plane
// validated the spec with, then the class is built. Each class lives in its
// own file here; README.md lists the behaviour decided for each.
#include <string>
#include <utility>

#include "common/resource_config.h"
#include "workflow/resource.h"
#include "workflow/resources/file_log.h"
#include "workflow/resources/file_pusher.h"
#include "workflow/resources/http_egress.h"
#include "workflow/resources/http_poster.h"
#include "workflow/resources/kv.h"
#include "workflow/resources/portal.h"
#include "workflow/resources/redis.h"
#include "workflow/resources/serverless.h"
#include "workflow/resources/sqlx.h"
#include "workflow/resources/timer.h"

namespace aether::workflow {
namespace {

// "<class> configurations: <parser's message>", so the message names the
// place to fix.
Status ConfigError(std::string_view class_type, const Status& st) {
  return InvalidArgument(std::string(class_type) + " configurations: " + st.message());
}

std::string KnownList() {
  std::string out;
  for (const std::string& c : KnownResourceClasses()) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Resource>> CreateResource(std::string_view class_type, ResourceContext ctx) {
  const ResourceConfigMap& c = ctx.configurations;
  if (class_type == "http-ingress") {
    return FailedPrecondition("http-ingress is served by the engine's /wf route");
  }
  if (class_type == "http-egress") {
    auto config = ParseHttpEgressConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewHttpEgress(std::move(ctx), std::move(*config));
  }
  if (class_type == "file-log") {
    auto config = ParseFileLogConfig(c, ctx.component);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewFileLog(std::move(ctx), std::move(*config));
  }
  if (class_type == "kv") {
    auto config = ParseKvConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    if (!config->durable) return resources::NewKv(*config);
    if (ctx.kv_buckets == nullptr) {
      return FailedPrecondition(
          "kv: storage = \"durable\" keeps the data in NATS JetStream, and this engine has none "
          "(set [nats] urls: docs/configuration.md)");
    }
    return resources::NewDurableKv(std::move(ctx), *config);
  }
  if (class_type == "redis") {
    auto config = ParseRedisConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewRedis(std::move(ctx), std::move(*config));
  }
  if (class_type == "sqlx") {
    auto config = ParseSqlxConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewSqlx(std::move(ctx), *config);
  }
  if (class_type == "timer") {
    auto config = ParseTimerConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    if (config->period.count() <= 0)
      return ConfigError(class_type, InvalidArgument("period_ms: must be > 0"));
    return resources::NewTimer(std::move(ctx), std::move(*config));
  }
  if (class_type == "http-poster") {
    auto config = ParseHttpPosterConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewHttpPoster(std::move(ctx), std::move(*config));
  }
  if (class_type == "file-pusher") {
    auto config = ParseFilePusherConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewFilePusher(std::move(ctx), *config);
  }
  if (class_type == kPortalClass) {
    auto config = ParsePortalConfig(c);
    if (!config.ok()) return ConfigError(class_type, config.status());
    return resources::NewPortal(std::move(ctx), std::move(*config));
  }
  for (const ServerlessClass& cls : ctx.limits.serverless) {
    if (cls.class_type == class_type) {
      // A copy first: moving ctx moves the list `cls` is in. Its
      // configurations were checked (none are read) when the spec was applied.
      ServerlessClass chosen = cls;
      return resources::NewServerless(std::move(ctx), std::move(chosen));
    }
  }
  return InvalidArgument("unknown resource class \"" + std::string(class_type) + "\" (known: " +
                         KnownList() + "; or a class this engine's [[workflow.serverless]] names)");
}

}  // namespace aether::workflow
