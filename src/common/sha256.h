// SHA-256 digests (OpenSSL 3 EVP), used to key the compiled-module cache and
// to name artifacts. Pure functions: any thread may call them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace aether {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::span<const uint8_t> data);
Sha256Digest Sha256(std::string_view data);

// Lower-case hex of any bytes (digests, tokens, ids), two digits a byte.
std::string HexLower(std::span<const uint8_t> bytes);

// Lower-case hex, 64 characters.
std::string Sha256Hex(std::span<const uint8_t> data);
std::string Sha256Hex(std::string_view data);

}  // namespace aether
