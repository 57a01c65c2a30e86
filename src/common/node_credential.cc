#include "common/node_credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <optional>

#include "common/result.h"
#include "common/sha256.h"

namespace aether {
namespace {

constexpr std::string_view kDataplaneKeyLabel = "aether dataplane key v1";
constexpr std::string_view kPairTokenLabel = "aether dataplane v1\n";
constexpr std::string_view kPortalKeyLabel = "aether portal key v1";
constexpr std::string_view kPortalTokenLabel = "aether portal v1\n";

std::string HmacHex(std::string_view key, std::string_view message) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fails only on allocation failure or a broken OpenSSL install.
  CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const uint8_t*>(message.data()), message.size(), out,
             &len) != nullptr);
  return HexLower({out, len});
}

std::optional<Sha256Digest> FromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Sha256Digest d{};
  for (size_t i = 0; i < d.size(); ++i) {
    int v = 0;
    for (char c : hex.substr(2 * i, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else {
        return std::nullopt;
      }
    }
    d[i] = static_cast<uint8_t>(v);
  }
  return d;
}

}  // namespace

std::string CredentialDigest(std::string_view secret) { return Sha256Hex(secret); }

std::string DataplaneKey(std::string_view secret) { return HmacHex(secret, kDataplaneKeyLabel); }

std::string PairToken(std::string_view dataplane_key, std::string_view receiver_node_id) {
  std::string message(kPairTokenLabel);
  message += receiver_node_id;
  return HmacHex(dataplane_key, message);
}

std::string PortalToken(std::string_view controller_secret, std::string_view workflow,
                        std::string_view component) {
  std::string message(kPortalTokenLabel);
  message += workflow;
  message += '\n';
  message += component;
  return HmacHex(HmacHex(controller_secret, kPortalKeyLabel), message);
}

bool MatchesDigest(std::string_view given, std::string_view expected_digest) {
  // Hash first: both sides are then 32 bytes, whatever was sent.
  Sha256Digest got = Sha256(given);
  std::optional<Sha256Digest> want = FromHex(expected_digest);
  Sha256Digest zero{};
  bool same = CRYPTO_memcmp(got.data(), want ? want->data() : zero.data(), got.size()) == 0;
  return same && want.has_value() && !given.empty();
}

}  // namespace aether
