// Tests' shorthand for one request to a real server: a new HttpClient (no
// kept connections, Connection: close) per call, so a test sees exactly
// one connection per request. Code under test takes an HttpClient instead.
#pragma once

#include <chrono>
#include <string_view>

#include "common/http_client.h"

namespace aether {

inline Result<HttpResponse> HttpFetch(
    std::string_view method, std::string_view url, std::string_view body = {},
    HttpHeaders headers = {}, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return NewHttpClient()->Fetch(method, url, body, std::move(headers), timeout);
}

}  // namespace aether
