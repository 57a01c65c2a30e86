// http-poster (EDGELESS's class): POSTs the payload of every cast to the
// configured "url"; the answer's body is dropped.
//
// Casts are queued (at most ctx.limits.http_egress_queue_length, holding at
// most kEgressQueueBytes; ResourceExhausted when full) and posted one at a
// time on the resource's own thread. A non-2xx answer, an error, or (with
// "decode_base64") a payload that is not base64 goes to report_failure;
// messages give the URL without its query (it may hold secrets). Calls are
// InvalidArgument: http-egress is the class that answers.
//
// Where it may post is http-egress's policy (egress_policy.h), applied the
// same way: the URL's host and port against the "allow" list when the
// resource is created (an error then), every resolved address at connect
// time. Without a list the engine's [workflow] egress_default decides:
// "public" reaches any public address (loopback, private, link-local and
// metadata addresses are refused at connect), "none" refuses every post
// (PermissionDenied, reported).
#pragma once

#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

// InvalidArgument for a URL ParseEgressUrl refuses; PermissionDenied when
// the allow list does not hold its host and port.
Result<std::unique_ptr<Resource>> NewHttpPoster(ResourceContext ctx, HttpPosterConfig config);

}  // namespace aether::workflow::resources
