// `aether config template ROLE` round-trips: the file it prints for
// "control" and for "engine" is a config the real aether-control and
// aether-engine start from, unchanged but for the data paths (moved into a
// temp dir; the port comes from --port 0). A key the server did not know,
// or a default it refused, would fail the start.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cluster.h"
#include "common/testing/http_fetch.h"

namespace aether::testing {
namespace {

// The template for `role`, with its relative ".aether/..." data paths
// under `dir`.
std::string Template(const std::string& role, const TempDir& dir) {
  CliRun r = RunCli({"config", "template", role});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  std::string text = r.out;
  EXPECT_NE(text.find("\".aether/"), std::string::npos) << "no data path to move:\n" << text;
  for (size_t at = 0; (at = text.find("\".aether/", at)) != std::string::npos;) {
    std::string moved = "\"" + (dir / ".aether/");
    text.replace(at, 9, moved);
    at += moved.size();
  }
  return text;
}

// `binary` started (ready: GET /health answers) from the template for
// `role`, written to dir/ROLE.toml.
Result<std::unique_ptr<ServerProcess>> StartFromTemplate(const std::string& binary,
                                                         const std::string& role,
                                                         const TempDir& dir) {
  WriteFile(dir / (role + ".toml"), Template(role, dir));
  return ServerProcess::Start(binary, {"--config", dir / (role + ".toml"), "--port", "0"},
                              dir / (role + ".log"));
}

TEST(ConfigTemplateIntegration, ControlStartsFromItsTemplate) {
  TempDir dir;
  auto p = StartFromTemplate(kControl, "control", dir);
  ASSERT_TRUE(p.ok()) << p.status().message();
  // It serves its API with the admin token it made (the template's
  // database path, moved into dir).
  std::string admin = Trim(ReadFile(dir / ".aether/control/admin.token"));
  auto r = HttpFetch("GET", (*p)->url() + "/api/functions", {},
                     {{"Authorization", "Bearer " + admin}}, seconds(5));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ((*p)->Stop(), 0) << (*p)->Log();
}

TEST(ConfigTemplateIntegration, EngineStartsFromItsTemplate) {
  TempDir dir;
  auto p = StartFromTemplate(kEngine, "engine", dir);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->Stop(), 0) << (*p)->Log();
}

}  // namespace
}  // namespace aether::testing
