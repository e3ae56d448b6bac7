#include "mount/blob_sas.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>
#include <vector>

#include "common/base64.hpp"
#include "common/percent_encode.hpp"

namespace batchai {

namespace {

// Azure's service SAS version; its string-to-sign is the 2018-11-09 shape.
constexpr const char* kSasVersion = "2020-10-02";

Result<std::vector<unsigned char>> base64_decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return err("the account key is not base64");
  std::vector<unsigned char> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return err("the account key is not base64");
  std::size_t pad = 0;
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string utc_seconds(std::int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<std::string> container_sas_url(const std::string& endpoint, const std::string& account,
                                      const std::string& account_key, const std::string& container,
                                      std::int64_t expiry_unix_s, const std::string& permissions) {
  auto key = base64_decode(account_key);
  if (!key) return key.error();
  const std::string expiry = utc_seconds(expiry_unix_s);
  // sp, st, se, resource, si, sip, spr, sv, sr, snapshot, rscc, rscd, rsce, rscl, rsct
  const std::string to_sign = permissions + "\n\n" + expiry + "\n/blob/" + account + "/" +
                              container + "\n\n\n\n" + kSasVersion + "\nc\n\n\n\n\n\n";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac,
           &mac_len) == nullptr) {
    return err("cannot sign the container's access token");
  }
  return endpoint + "/" + container + "?sv=" + kSasVersion + "&sr=c&sp=" + permissions +
         "&se=" + percent_encode(expiry) + "&sig=" + percent_encode(base64_encode(mac, mac_len));
}

std::string redact_sas(std::string text) {
  for (auto at = text.find("sig="); at != std::string::npos; at = text.find("sig=", at + 4)) {
    auto end = text.find_first_of("&\"' \n\t)", at + 4);
    text.replace(at + 4, (end == std::string::npos ? text.size() : end) - (at + 4), "REDACTED");
  }
  return text;
}

}  // namespace batchai
