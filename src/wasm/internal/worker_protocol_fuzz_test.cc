// libFuzzer target for the compiler process's messages and the cache
// sidecar: decoding any bytes never crashes or allocates without bound,
// and what decodes re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "wasm/internal/worker_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  using namespace aether::wasm;
  if (auto q = DecodeRequest(bytes); q.ok()) CHECK(EncodeRequest(*q) == bytes);
  if (auto r = DecodeResult(bytes); r.ok()) CHECK(EncodeResult(*r) == bytes);
  if (auto s = DecodeSidecar(bytes); s.ok()) CHECK(EncodeSidecar(s->info, s->so_sha256) == bytes);
  return 0;
}
