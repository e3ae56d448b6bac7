// Percent-encoding of one URL component: everything but RFC 3986's unreserved characters
// (letters, digits, '-', '.', '_', '~') becomes %XX.
#pragma once

#include <string>
#include <string_view>

namespace batchai {

std::string percent_encode(std::string_view component);

}  // namespace batchai
