// A short stable name for a string (FNV-1a, 64 bits, as 16 hex digits): file names for mount
// points and configuration versions. Not a cryptographic hash.
#pragma once

#include <cstdint>
#include <string>

namespace batchai {

inline std::string fnv1a_hex(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int shift = 60; shift >= 0; shift -= 4) out += hex[(h >> shift) & 15];
  return out;
}

}  // namespace batchai
