#include "common/base64.hpp"

namespace batchai {

std::string base64_encode(const unsigned char* data, std::size_t size, Base64Alphabet alphabet,
                          bool pad) {
  const char* a = alphabet == Base64Alphabet::kUrlSafe
                      ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    unsigned v = (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8) | data[i + 2];
    for (int shift : {18, 12, 6, 0}) out += a[(v >> shift) & 63];
  }
  const std::size_t rest = size - i;
  if (rest > 0) {
    unsigned v = unsigned{data[i]} << 16;
    if (rest == 2) v |= unsigned{data[i + 1]} << 8;
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    if (rest == 2) out += a[(v >> 6) & 63];
    if (pad) out.append(3 - rest, '=');
  }
  return out;
}

}  // namespace batchai
