#include "controlplane/access_tokens.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <charconv>
#include <sstream>

#include "common/digest.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "controlplane/options.hpp"

namespace batchai::cp {

namespace {

constexpr const char* kPrefix = "bai1~";
constexpr std::size_t kKeyBytes = 32;

bool same_text(const std::string& a, const std::string& b) {
  return same_secret(a, b);
}

// The signing key: read from key_path, or made there (O_EXCL, 0600) on the first start.
Result<std::string> signing_key(const std::string& key_path) {
  UniqueFd fd(::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid() && errno != EEXIST) {
    return err("cannot make " + key_path + ": " + errno_text(errno));
  }
  if (fd.valid()) {
    std::string key(kKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeyBytes) != 1) {
      return err("no random bytes for the token signing key");
    }
    if (::write(fd.get(), key.data(), key.size()) != static_cast<ssize_t>(key.size()) ||
        ::fsync(fd.get()) != 0) {
      ::unlink(key_path.c_str());
      return err("cannot write " + key_path + ": " + errno_text(errno));
    }
    return key;
  }
  auto key = read_secret_file(key_path, 4096);
  if (!key) return key.error();
  if (key->size() != kKeyBytes) {
    return err(key_path + " is not a token signing key (" + std::to_string(kKeyBytes) +
               " bytes): remove it to make a new one (tokens issued so far stop working)");
  }
  return *key;
}

}  // namespace

bool is_valid_app_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<AccessTokens> AccessTokens::from(const std::string& principals_text,
                                        const std::string& key) {
  AccessTokens tokens;
  tokens.key_ = key;
  std::istringstream lines(principals_text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream fields(line);
    std::string app_id, secret, extra;
    fields >> app_id >> secret >> extra;
    const std::string where = "line " + std::to_string(number) + ": ";
    if (secret.empty() || !extra.empty()) {
      return err(where + "must be \"APPID SECRET\" (two fields)");
    }
    if (!is_valid_app_id(app_id)) {
      return err(where + "the application id must be 1 to 128 letters, digits, '-', '.', '_'");
    }
    if (secret.size() > 256) return err(where + "the secret is longer than 256 characters");
    for (const auto& p : tokens.principals_) {
      if (p.app_id == app_id) return err(where + "the application id is repeated");
    }
    tokens.principals_.push_back({app_id, sha256(secret)});
  }
  // An empty file would leave the user routes open (no credential configured at all).
  if (tokens.principals_.empty()) return err("lists no service principal");
  return tokens;
}

Result<AccessTokens> AccessTokens::load(const std::string& principals_text,
                                        const std::string& key_path) {
  auto key = signing_key(key_path);
  if (!key) return key.error();
  return from(principals_text, *key);
}

std::string AccessTokens::sign(const std::string& payload,
                               const std::array<unsigned char, 32>& secret_digest) const {
  // The secret's digest is signed too: a principal whose secret changes loses its old tokens.
  std::string text = payload;
  text.append(1, '\0');
  text.append(reinterpret_cast<const char*>(secret_digest.data()), secret_digest.size());
  return hmac_sha256_hex(key_, text);
}

std::optional<std::string> AccessTokens::issue(const std::string& app_id, const std::string& secret,
                                               std::int64_t now_s) const {
  const auto given = sha256(secret);
  const Principal* match = nullptr;
  // Every principal is compared, so the time taken says nothing about which id exists.
  for (const auto& p : principals_) {
    const bool secret_ok = CRYPTO_memcmp(p.secret_digest.data(), given.data(), given.size()) == 0;
    if (same_text(p.app_id, app_id) && secret_ok) match = &p;
  }
  if (match == nullptr) return std::nullopt;
  const std::string payload = kPrefix + app_id + "~" + std::to_string(now_s + kAccessTokenSeconds);
  return payload + "~" + sign(payload, match->secret_digest);
}

bool AccessTokens::verify(const std::string& token, std::int64_t now_s) const {
  if (principals_.empty() || token.size() > kMaxAccessTokenBytes || !token.starts_with(kPrefix)) {
    return false;
  }
  const auto last = token.rfind('~');
  const auto middle = token.rfind('~', last - 1);
  if (middle == std::string::npos || middle <= std::string(kPrefix).size()) return false;
  // A principal removed from the file loses its tokens at the next start.
  const std::string app_id =
      token.substr(std::string(kPrefix).size(), middle - std::string(kPrefix).size());
  const Principal* principal = nullptr;
  for (const auto& p : principals_) {
    if (p.app_id == app_id) principal = &p;
  }
  if (principal == nullptr) return false;
  const std::string payload = token.substr(0, last);
  if (!same_text(sign(payload, principal->secret_digest), token.substr(last + 1))) return false;
  std::int64_t expiry = 0;
  const char* begin = token.data() + middle + 1;
  const char* end = token.data() + last;
  auto [ptr, ec] = std::from_chars(begin, end, expiry);
  if (ec != std::errc() || ptr != end) return false;
  return now_s < expiry;
}

}  // namespace batchai::cp
