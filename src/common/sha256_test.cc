#include "common/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aether {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(std::string_view("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex(std::string_view("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, MillionAs) {
  std::string a(1000000, 'a');
  EXPECT_EQ(Sha256Hex(a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, SpanOverloadMatchesStringView) {
  std::vector<uint8_t> bytes = {0x00, 0xff, 0x10, 0x80};
  std::string s(bytes.begin(), bytes.end());
  EXPECT_EQ(Sha256Hex(bytes), Sha256Hex(std::string_view(s)));
  EXPECT_EQ(Sha256(bytes).size(), 32u);
}

}  // namespace
}  // namespace aether
