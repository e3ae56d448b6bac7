// The shared base64 encoder against RFC 4648's test vectors, in both alphabets.
#include <gtest/gtest.h>

#include "common/base64.hpp"

namespace batchai {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, UrlSafeAlphabetAndPadding) {
  const std::string bytes = "\xfb\xff\xbf";  // all of 62 and 63
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64_encode(bytes, Base64Alphabet::kUrlSafe), "-_-_");
  EXPECT_EQ(base64_encode("fo", Base64Alphabet::kUrlSafe, false), "Zm8");
  EXPECT_EQ(base64_encode("fo", Base64Alphabet::kUrlSafe, true), "Zm8=");
}

}  // namespace
}  // namespace batchai
