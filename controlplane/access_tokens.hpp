// The identity side of the resource-manager API (docs/real-clients.md): the service principals
// that may sign in (--service-principals: one "APPID SECRET" per line) and the access tokens the
// token endpoint issues them. A token is "bai1~<appid>~<expiry>~<signature>": the expiry in
// seconds since the epoch, the signature HMAC-SHA256 (hex) over what precedes it and the
// principal's secret (so a changed secret ends its old tokens) with a key kept
// in the state directory (0600), so tokens outlive a restart of the control plane and expire on
// their own. Secrets are kept as SHA-256 digests and compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai::cp {

inline constexpr std::int64_t kAccessTokenSeconds = 3600;
inline constexpr std::size_t kMaxAccessTokenBytes = 1024;

class AccessTokens {
 public:
  // principals_text: the file's content; key_path: the signing key's file, made when absent.
  static Result<AccessTokens> load(const std::string& principals_text, const std::string& key_path);
  // For tests: the principals and a key given.
  static Result<AccessTokens> from(const std::string& principals_text, const std::string& key);

  // A token for app_id, or none when the id or the secret is wrong.
  std::optional<std::string> issue(const std::string& app_id, const std::string& secret,
                                   std::int64_t now_s) const;
  // Whether token is one this control plane issued and has not expired.
  bool verify(const std::string& token, std::int64_t now_s) const;

  bool empty() const { return principals_.empty(); }

 private:
  struct Principal {
    std::string app_id;
    std::array<unsigned char, 32> secret_digest{};
  };
  std::string sign(const std::string& payload,
                   const std::array<unsigned char, 32>& secret_digest) const;

  std::vector<Principal> principals_;
  std::string key_;
};

// Application ids: 1 to 128 letters, digits, '-', '.', '_'.
bool is_valid_app_id(const std::string& id);

}  // namespace batchai::cp
