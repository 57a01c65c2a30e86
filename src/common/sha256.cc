#include "common/sha256.h"

#include <openssl/evp.h>

#include "common/result.h"

namespace aether {

namespace {

// A digest context per thread, made at its first digest and kept: a fresh
// one per digest (EVP_Digest) allocates and frees OpenSSL's context and the
// provider's each time, a third of the cost of hashing a token, which every
// authenticated request does.
class ThreadDigestContext {
 public:
  ThreadDigestContext() : ctx_(EVP_MD_CTX_new()) { CHECK(ctx_ != nullptr); }
  ~ThreadDigestContext() { EVP_MD_CTX_free(ctx_); }
  ThreadDigestContext(const ThreadDigestContext&) = delete;
  ThreadDigestContext& operator=(const ThreadDigestContext&) = delete;

  EVP_MD_CTX* get() const { return ctx_; }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

Sha256Digest Sha256(std::span<const uint8_t> data) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up
  // again at every digest, which was most of the cost of hashing a token
  // (~490 ns against ~170 ns; every authenticated request hashes four).
  // A constant once made, never freed: it lives as long as the library.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CHECK(kSha256 != nullptr);
  thread_local ThreadDigestContext context;
  EVP_MD_CTX* ctx = context.get();
  Sha256Digest digest{};
  unsigned int len = 0;
  // These only fail on allocation failure or a broken OpenSSL install;
  // neither is something a caller could handle.
  CHECK(EVP_DigestInit_ex2(ctx, kSha256, nullptr) == 1);
  CHECK(EVP_DigestUpdate(ctx, data.data(), data.size()) == 1);
  CHECK(EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1);
  CHECK(len == digest.size());
  return digest;
}

Sha256Digest Sha256(std::string_view data) {
  return Sha256(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

std::string HexLower(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

std::string Sha256Hex(std::span<const uint8_t> data) { return HexLower(Sha256(data)); }

std::string Sha256Hex(std::string_view data) { return HexLower(Sha256(data)); }

}  // namespace aether
