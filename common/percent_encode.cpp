#include "common/percent_encode.hpp"

namespace batchai {

std::string percent_encode(std::string_view component) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : component) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace batchai
