#include "cli/token_file.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "common/fs.hpp"

namespace batchai::cli {
namespace {

constexpr std::size_t kMaxTokenBytes = 64 * 1024;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

Result<std::string> read_token_file(const std::string& path) {
  // As the agent and the control plane require of theirs: a token others can read is no secret.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
    return err("the token file " + path + " can be read by group or others: chmod 600 it");
  }
  auto text = read_file(path, kMaxTokenBytes);
  if (!text) return err("token file: " + text.error().message);
  std::string token = std::move(*text);
  while (!token.empty() && is_space(token.back())) token.pop_back();
  auto first = std::find_if_not(token.begin(), token.end(), is_space);
  token.erase(token.begin(), first);
  if (token.empty()) return err("the token file " + path + " is empty");
  bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  if (!printable) {
    return err("the token file " + path +
               " must hold the token alone (printable ASCII, no spaces)");
  }
  return token;
}

}  // namespace batchai::cli
