// libFuzzer target for the compiler process's messages and the cache
// sidecar: decoding any bytes never crashes or allocates without bound,
// and what decodes re-encodes to bytes that decode to the same thing
// (flags are read as "non-zero", so the first re-encoding may normalise).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "wasm/internal/worker_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  using namespace aether::wasm;
  if (auto q = DecodeRequest(bytes); q.ok()) {
    std::string once = EncodeRequest(*q);
    auto again = DecodeRequest(once);
    CHECK(again.ok() && EncodeRequest(*again) == once);
  }
  if (auto r = DecodeResult(bytes); r.ok()) {
    std::string once = EncodeResult(*r);
    auto again = DecodeResult(once);
    CHECK(again.ok() && EncodeResult(*again) == once);
  }
  if (auto s = DecodeSidecar(bytes); s.ok()) {
    std::string once = EncodeSidecar(s->info, s->so_sha256);
    auto again = DecodeSidecar(once);
    CHECK(again.ok() && EncodeSidecar(again->info, again->so_sha256) == once);
  }
  return 0;
}
