// SHA-256 and HMAC-SHA256 (OpenSSL) for the secrets the control plane checks: tokens and
// signed links. Secrets are compared as digests in constant time, so neither their content nor
// their length shows in the time a comparison takes.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace batchai {

using Sha256 = std::array<unsigned char, 32>;

Sha256 sha256(std::string_view text);
// Whether a and b are the same text, compared as digests in constant time.
bool same_secret(std::string_view a, std::string_view b);
// HMAC-SHA256 of text under key, in lower-case hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view text);

}  // namespace batchai
