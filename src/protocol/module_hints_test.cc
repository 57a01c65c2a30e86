#include "protocol/module_hints.h"

#include <gtest/gtest.h>

namespace aether::protocol {
namespace {

const std::string kHintSha(64, 'a');
const std::string kOtherSha(64, '0');

TEST(ModuleHintsTest, RoundTrips) {
  ModuleHints hints{7, {{kHintSha, 153214}, {kOtherSha, 0}}};
  std::string json = EncodeModuleHints(hints);
  EXPECT_EQ(json, R"({"revision":7,"modules":[{"sha256":")" + kHintSha +
                      R"(","size":153214},{"sha256":")" + kOtherSha + R"(","size":0}]})");
  Result<ModuleHints> back = ParseModuleHints(json);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->revision, 7);
  EXPECT_EQ(back->modules, hints.modules);

  Result<ModuleHints> none = ParseModuleHints(R"({"revision": 0, "modules": []})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->modules.empty());
}

TEST(ModuleHintsTest, RefusesWhatNoControlPlaneSends) {
  auto error = [](const std::string& json) {
    Result<ModuleHints> r = ParseModuleHints(json);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(error("[]"), "ok");
  EXPECT_NE(error(R"({"modules": []})").find("revision"), std::string::npos);
  EXPECT_EQ(error(R"({"revision": 1})"), "field \"modules\" must be an array");
  EXPECT_EQ(error(R"({"revision": 1, "modules": {}})"), "field \"modules\" must be an array");
  EXPECT_EQ(error(R"({"revision": 1, "modules": [3]})"), "field \"modules[0]\" must be an object");
  EXPECT_EQ(error(R"({"revision": 1, "modules": [{"sha256": "../../etc/passwd", "size": 1}]})"),
            "field \"modules[0].sha256\" must be 64 lower-case hex digits");
  EXPECT_EQ(error(R"({"revision": 1, "modules": [{"sha256": ")" + std::string(64, 'A') +
                  R"(", "size": 1}]})"),
            "field \"modules[0].sha256\" must be 64 lower-case hex digits");
  EXPECT_EQ(error(R"({"revision": 1, "modules": [{"sha256": ")" + kHintSha + R"(", "size": -1}]})"),
            "field \"modules[0].size\" is negative");
  EXPECT_NE(
      error(R"({"revision": 1, "modules": [{"sha256": ")" + kHintSha + R"("}]})").find("size"),
      std::string::npos);

  ModuleHints many{1, std::vector<ModuleHint>(kMaxModuleHints + 1, ModuleHint{kHintSha, 1})};
  EXPECT_EQ(error(EncodeModuleHints(many)), "field \"modules\" has more than 64 entries");
  many.modules.pop_back();
  EXPECT_EQ(error(EncodeModuleHints(many)), "ok");
}

}  // namespace
}  // namespace aether::protocol
