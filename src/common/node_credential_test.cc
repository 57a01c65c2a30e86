#include "common/node_credential.h"

#include <gtest/gtest.h>

#include "common/sha256.h"

namespace aether {
namespace {

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(NodeCredentialTest, DerivationsAreStableAndIndependent) {
  EXPECT_EQ(CredentialDigest(kSecret), Sha256Hex(std::string_view(kSecret)));
  std::string key = DataplaneKey(kSecret);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key, DataplaneKey(kSecret));
  EXPECT_NE(key, CredentialDigest(kSecret));
  EXPECT_NE(key, DataplaneKey(std::string(kSecret) + "x"));

  std::string ab = PairToken(key, "b");
  EXPECT_EQ(ab.size(), 64u);
  EXPECT_EQ(ab, PairToken(key, "b"));
  EXPECT_NE(ab, PairToken(key, "c"));
  EXPECT_NE(ab, PairToken(DataplaneKey("another"), "b"));
  // A receiver name cannot be chosen to reproduce the dataplane key itself.
  EXPECT_NE(PairToken(key, ""), key);
}

TEST(NodeCredentialTest, MatchesDigestChecksTheWholeValue) {
  std::string token = PairToken(DataplaneKey(kSecret), "b");
  std::string digest = Sha256Hex(token);
  EXPECT_TRUE(MatchesDigest(token, digest));
  EXPECT_FALSE(MatchesDigest(token.substr(0, 63), digest));
  EXPECT_FALSE(MatchesDigest(token + "0", digest));
  EXPECT_FALSE(MatchesDigest(std::string(10000, 'a'), digest));
  EXPECT_FALSE(MatchesDigest("", Sha256Hex(std::string_view(""))));
  EXPECT_FALSE(MatchesDigest(token, ""));
  EXPECT_FALSE(MatchesDigest(token, digest.substr(1)));
  std::string bad = digest;
  bad[10] = 'z';
  EXPECT_FALSE(MatchesDigest(token, bad));
}

}  // namespace
}  // namespace aether
