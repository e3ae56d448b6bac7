#include "mount/storage_settings.hpp"

namespace batchai {

std::string with_account(const std::string& pattern, const std::string& account) {
  std::string out = pattern;
  for (auto at = out.find("{account}"); at != std::string::npos;
       at = out.find("{account}", at + account.size())) {
    out.replace(at, 9, account);
  }
  return out;
}

}  // namespace batchai
