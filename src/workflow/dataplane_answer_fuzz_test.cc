// libFuzzer target for the answer to a batch of casts (dataplane_answer.h),
// what another engine answers to POST /dataplane/v1/events. Checks, on any
// bytes and for batches of several sizes:
//   * no crash, UB or unbounded allocation;
//   * every frame is in exactly one place (accepted + dropped + deferred +
//     unaccounted == the batch size), so nothing is sent twice or lost
//     uncounted;
//   * the deferred indexes are strictly ascending and below the batch size
//     (the sender reads no frame outside its batch, and none twice);
//   * an answer that accounts for less than the batch says why;
// and that what a receiver formats parses back to the same answer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workflow/dataplane_answer.h"

namespace {

using namespace aether::workflow;  // NOLINT: the answer's names

void CheckParse(std::string_view body, size_t n) {
  BatchAnswer a = ParseBatchAnswer(body, n);
  CHECK(a.accepted + a.dropped + a.deferred.size() + a.unaccounted == n);
  for (size_t i = 0; i < a.deferred.size(); ++i) {
    CHECK(a.deferred[i] < n);
    CHECK(i == 0 || a.deferred[i] > a.deferred[i - 1]);
  }
  CHECK(a.unaccounted == 0 || !a.problem.empty());
  CHECK(a.problem.size() < 256);
}

// The input as what a receiver did with a batch: each byte is one frame,
// accepted, dropped or deferred.
void CheckRoundTrip(std::string_view in) {
  uint64_t accepted = 0, dropped = 0;
  std::vector<size_t> deferred;
  for (size_t i = 0; i < in.size(); ++i) {
    switch (static_cast<uint8_t>(in[i]) % 3) {
      case 0:
        ++accepted;
        break;
      case 1:
        ++dropped;
        break;
      default:
        deferred.push_back(i);
    }
  }
  BatchAnswer a = ParseBatchAnswer(FormatBatchAnswer(accepted, dropped, deferred), in.size());
  CHECK(a.accepted == accepted && a.dropped == dropped && a.deferred == deferred);
  CHECK(a.unaccounted == 0 && a.problem.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{1024}}) CheckParse(in, n);
  CheckRoundTrip(in);
  return 0;
}
