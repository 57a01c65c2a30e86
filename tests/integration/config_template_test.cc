// `aether config template ROLE` round-trips: the file it prints for
// "control" and for "engine" is a config the real aether-control and
// aether-engine start from, unchanged but for the data paths (moved into a
// temp dir; the port comes from --port 0). A key the server did not know,
// or a default it refused, would fail the start.
#include <gtest/gtest.h>

#include <string>

#include "cluster.h"

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

TEST(ConfigTemplateIntegration, ControlStartsFromItsTemplate) {
  TempDir dir;
  WriteFile(dir / "control.toml", Template("control", dir));
  auto p = ServerProcess::Start(kControl, {"--config", dir / "control.toml", "--port", "0"},
                                dir / "control.log");
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
  WriteFile(dir / "engine.toml", Template("engine", dir));
  auto p = ServerProcess::Start(kEngine, {"--config", dir / "engine.toml", "--port", "0"},
                                dir / "engine.log");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->Stop(), 0) << (*p)->Log();
}

}  // namespace
}  // namespace aether::testing
