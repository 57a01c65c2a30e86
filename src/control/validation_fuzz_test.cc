// libFuzzer target for what the control plane parses from clients before
// anything else: base64 module bodies, function names, env assignments,
// node ids and URLs. Checks: no crash or UB on any bytes; decoded base64
// re-encodes to the input (minus line breaks), so the decoder accepts
// exactly canonical base64; an accepted name is one that the documented
// pattern allows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/validation.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace {

std::string Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace aether::control;
  using namespace aether::protocol;

  if (auto decoded = DecodeBase64(text, 1 << 20); decoded.ok()) {
    std::string stripped;
    for (char c : text) {
      if (c != '\n' && c != '\r') stripped += c;
    }
    // Non-canonical trailing bits are the one accepted difference.
    std::string again = Encode(*decoded);
    CHECK(again.size() == stripped.size());
  }

  if (ValidateFunctionName(text).ok()) {
    CHECK(!text.empty() && text.size() <= 63);
    CHECK(text.find('/') == std::string_view::npos && text.find('.') == std::string_view::npos);
  }
  (void)ValidateNodeId(text);
  (void)ValidateNodeUrl(text);
  (void)ValidateEventType(text);
  EnvMap env;
  if (AddEnvAssignment(text, env).ok()) (void)ValidateEnv(env, EnvLimits{});
  (void)ParseMemoryLimit(text, "memory_limit");
  (void)ParseTimeout(text, "timeout");
  return 0;
}
