// The dashboard's routes through a real ControlService on 127.0.0.1:
// its files under /ui/ with the security headers, nothing but the embedded
// set, and GET /api/stats behind the admin token.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "control/control_service.h"
#include "control/testing/service_call.h"
#include "control/testing/service_test.h"
#include "control/ui_files.h"

namespace aether::control {
namespace {

namespace json = boost::json;

class UiApiTest : public control::testing::ServiceTest {
 protected:
  UiApiTest() : ServiceTest("aether-ui-test") {}
  HttpResponse Get(const std::string& path, const std::string& token = "") {
    return control::testing::CallService(*service_, "GET", path, {}, token);
  }
  static void ExpectSecurityHeaders(const HttpResponse& r) {
    std::string csp(r.Header("Content-Security-Policy"));
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.Header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer");
  }
};

TEST_F(UiApiTest, ServesTheEmbeddedFilesWithoutATokenAndWithTheSecurityHeaders) {
  HttpResponse index = Get("/ui/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<script type=\"module\" src=\"app.js\">"), std::string::npos);
  ExpectSecurityHeaders(index);
  HttpResponse js = Get("/ui/app.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("Content-Type"), "text/javascript; charset=utf-8");
  ExpectSecurityHeaders(js);
  HttpResponse page = Get("/ui/pages/events.js");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/javascript; charset=utf-8");
  HttpResponse css = Get("/ui/app.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.Header("Content-Type"), "text/css; charset=utf-8");
  // Relative URLs in the page need the slash.
  HttpResponse bare = Get("/ui");
  EXPECT_EQ(bare.status, 308);
  EXPECT_EQ(bare.Header("Location"), "/ui/");
}

TEST_F(UiApiTest, NothingOutsideTheEmbeddedSetIsServed) {
  for (std::string path :
       {"/ui/../admin.token", "/ui/..%2fadmin.token", "/ui/%2e%2e/aether.db", "/ui/nope.js",
        "/ui//etc/passwd", "/ui/pages/", "/ui/index.html%00.js", "/ui/APP.JS"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << path;
    ExpectSecurityHeaders(r);
    EXPECT_EQ(r.body.find("admin"), std::string::npos) << path;
  }
}

TEST_F(UiApiTest, EveryEmbeddedFileHasAKnownContentType) {
  ASSERT_FALSE(EmbeddedUiFiles().empty());
  for (const UiFile& f : EmbeddedUiFiles()) {
    EXPECT_NE(UiContentType(f.path), "application/octet-stream") << f.path;
    // No inline script or style, and no markup built from strings: the CSP
    // would refuse the first, the second is how data turns into script.
    EXPECT_EQ(f.body.find("innerHTML"), std::string::npos) << f.path;
    EXPECT_EQ(f.body.find("outerHTML"), std::string::npos) << f.path;
    EXPECT_EQ(f.body.find("insertAdjacentHTML"), std::string::npos) << f.path;
    EXPECT_EQ(f.body.find("document.write"), std::string::npos) << f.path;
    EXPECT_EQ(f.body.find("style=\""), std::string::npos) << f.path;
  }
}

TEST_F(UiApiTest, StatsNeedTheAdminTokenAndStartEmpty) {
  EXPECT_EQ(Get("/api/stats").status, 401);
  EXPECT_EQ(Get("/api/stats", "join").status, 403);
  HttpResponse r = Get("/api/stats?since=0", "admin");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object o = json::parse(r.body).as_object();
  EXPECT_EQ(o["interval_ms"].as_int64(), 5000);
  EXPECT_EQ(o["window_ms"].as_int64(), 900000);
  EXPECT_TRUE(o["samples"].as_array().empty());
  EXPECT_EQ(Get("/api/stats?since=x", "admin").status, 400);
}

}  // namespace
}  // namespace aether::control
