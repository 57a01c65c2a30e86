// Tests' check of an error answer as docs/api.md documents it: the status
// and the "code" of the JSON body {"error", "code"}, not the status alone
// (two failures with one status, e.g. 404 not_found and 404 unknown_node,
// mean different things to a client).
//
//   EXPECT_TRUE(IsError(r, 404, "not_found"));
//   EXPECT_TRUE(IsUnauthenticated(r));  // the control plane's 401
//
// Header-only, for test binaries (they link GoogleTest).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "common/http_server.h"

namespace aether {

inline ::testing::AssertionResult IsError(const HttpResponse& r, int status,
                                          std::string_view code) {
  std::string got;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const boost::json::value* c = v.as_object().if_contains("code");
    if (c && c->is_string()) got = c->as_string();
  }
  if (r.status == status && got == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << status << " \"" << code << "\", got "
                                       << r.status << " \"" << got << "\": " << r.body;
}

// 401 unauthenticated with WWW-Authenticate: Bearer (docs/api.md,
// "Authentication").
inline ::testing::AssertionResult IsUnauthenticated(const HttpResponse& r) {
  ::testing::AssertionResult e = IsError(r, 401, "unauthenticated");
  if (!e) return e;
  if (r.Header("WWW-Authenticate") != "Bearer") {
    return ::testing::AssertionFailure() << "401 without WWW-Authenticate: Bearer (got \""
                                         << r.Header("WWW-Authenticate") << "\")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace aether
