#include "wasm/internal/worker_protocol.h"

#include <gtest/gtest.h>

namespace aether::wasm {
namespace {

WorkerTimings SomeTimings() {
  WorkerTimings t;
  t.main_ns = 123456789;
  t.stages = {{"translate", 41.5}, {"tcc", 30.25}};
  return t;
}

// The compiler process's stage timings travel with its answer, for the
// engine's DEBUG line of a compile's stages.
TEST(WorkerProtocol, TimingsTravelWithTheResult) {
  ModuleInfo info;
  info.export_funcs.emplace_back("_start", "v:");
  WorkerTimings got;
  Result<ModuleInfo> r = DecodeResult(EncodeResult(info, SomeTimings()), &got);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->export_funcs.size(), 1u);
  EXPECT_EQ(got.main_ns, 123456789);
  ASSERT_EQ(got.stages.size(), 2u);
  EXPECT_EQ(got.stages[0].first, "translate");
  EXPECT_DOUBLE_EQ(got.stages[0].second, 41.5);
  EXPECT_DOUBLE_EQ(got.stages[1].second, 30.25);
}

TEST(WorkerProtocol, AnErrorKeepsItsCodeAndTimings) {
  WorkerTimings got;
  Result<ModuleInfo> r =
      DecodeResult(EncodeResult(InvalidArgument("invalid module: bad"), SomeTimings()), &got);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "invalid module: bad");
  EXPECT_EQ(got.stages.size(), 2u);
}

TEST(WorkerProtocol, ATruncatedAnswerIsMalformed) {
  std::string answer = EncodeResult(ModuleInfo{}, SomeTimings());
  for (size_t n : {size_t{0}, size_t{8}, size_t{20}, answer.size() - 1}) {
    Result<ModuleInfo> r = DecodeResult(answer.substr(0, n));
    EXPECT_EQ(r.status().code(), Code::kInternal) << n;
  }
}

}  // namespace
}  // namespace aether::wasm
