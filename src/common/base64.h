// Base64 (RFC 4648, standard alphabet, padded), as etcd's JSON gateway
// encodes keys and values.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace aether {

std::string Base64Encode(std::string_view bytes);
// InvalidArgument for a length that is not a multiple of 4, a character
// outside the alphabet, or padding anywhere but at the end.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace aether
