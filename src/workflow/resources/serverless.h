// A serverless class (EDGELESS's "serverless" resource provider): an
// OpenFaaS-style function behind an HTTP URL that the engine's operator
// configures as a resource class ([[workflow.serverless]]; a spec names the
// class, e.g. "class_type": "double", and gives no URL).
//
// Each cast is POSTed to the class's URL, one at a time in arrival order on
// the resource's own thread (queued: at most
// ctx.limits.http_egress_queue_length, holding at most kEgressQueueBytes;
// ResourceExhausted when full). A 2xx answer's body is cast to the output
// "out"; anything else (a non-2xx status, no answer, a timeout) casts a
// one-line error message to "err". An event for an unmapped output is
// dropped as EDGELESS drops it; a failed post with no "err" mapped, or a
// cast to a full target, is reported (report_failure).
//
// A call (Aether's addition: EDGELESS's provider ignores calls) posts the
// same way and answers the body of a 2xx answer, or the error; it goes to
// no output. Messages name the URL without its query (it may hold a key).
#pragma once

#include <memory>

#include "workflow/resource.h"

namespace aether::workflow::resources {

// InvalidArgument for a URL that is not http(s)://host[:port]/...
Result<std::unique_ptr<Resource>> NewServerless(ResourceContext ctx, ServerlessClass cls);

}  // namespace aether::workflow::resources
