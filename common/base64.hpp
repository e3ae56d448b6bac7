// Base64 encoding, in the two alphabets the agent needs: standard (SAS signatures) and URL-safe
// (rclone's obscured secrets, Docker's X-Registry-Auth), with or without '=' padding.
#pragma once

#include <cstddef>
#include <string>

namespace batchai {

enum class Base64Alphabet { kStandard, kUrlSafe };

std::string base64_encode(const unsigned char* data, std::size_t size,
                          Base64Alphabet alphabet = Base64Alphabet::kStandard, bool pad = true);

inline std::string base64_encode(const std::string& text,
                                 Base64Alphabet alphabet = Base64Alphabet::kStandard,
                                 bool pad = true) {
  return base64_encode(reinterpret_cast<const unsigned char*>(text.data()), text.size(), alphabet,
                       pad);
}

}  // namespace batchai
