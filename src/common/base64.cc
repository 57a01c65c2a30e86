#include "common/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace aether {

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Decoded by hand rather than with EVP_DecodeBlock: that one skips
// whitespace at the ends, accepts '=' inside the text and cannot stop at a
// size cap before it has decoded everything.
Result<std::string> Base64Decode(std::string_view text, const Base64DecodeOptions& options) {
  static constexpr std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(std::min<uint64_t>(text.size() / 4 * 3, options.max_bytes));
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;  // alphabet characters seen
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (options.skip_line_breaks && (c == '\n' || c == '\r')) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int8_t v = kTable[c];
    if (v < 0 || padding > 0) {
      return InvalidArgument("base64: unexpected character at offset " + std::to_string(i));
    }
    ++symbols;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
      if (out.size() > options.max_bytes) {
        return ResourceExhausted("base64: decodes to more than " +
                                 std::to_string(options.max_bytes) + " bytes");
      }
    }
  }
  // Complete groups of 4 with '=' filling the last one; a lone symbol in a
  // group (6 bits) cannot encode a byte.
  bool ok = (symbols + padding) % 4 == 0 && padding <= 2 && symbols % 4 != 1 &&
            (padding == 0 || (4 - symbols % 4) % 4 == padding);
  if (!ok) return InvalidArgument("base64: bad length or padding");
  return out;
}

}  // namespace aether
