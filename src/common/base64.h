// Base64 (RFC 4648, standard alphabet, padded): how etcd's JSON gateway
// encodes keys and values, and how the deploy API carries module bytes.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether {

std::string Base64Encode(std::string_view bytes);

struct Base64DecodeOptions {
  // ResourceExhausted as soon as the output would pass it, so a huge text
  // is refused before it is all decoded.
  uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
  // CR and LF anywhere are ignored (text wrapped by `base64` or a mailer).
  bool skip_line_breaks = false;
};

// InvalidArgument for a character outside the alphabet (the message names
// its offset), a length that is not a multiple of 4, or padding anywhere
// but at the end.
Result<std::string> Base64Decode(std::string_view text, const Base64DecodeOptions& options = {});

}  // namespace aether
