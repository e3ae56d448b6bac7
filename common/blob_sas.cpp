#include "common/blob_sas.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
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

// The signature of a service SAS for `resource` ("/blob/<account>/<container>[/<blob>]") of kind
// sr ("c" or "b"), and the query that carries it.
Result<std::string> sas_query(const std::string& account_key, const std::string& resource,
                              const std::string& sr, std::int64_t expiry_unix_s,
                              const std::string& permissions) {
  auto key = base64_decode(account_key);
  if (!key) return key.error();
  const std::string expiry = utc_seconds(expiry_unix_s);
  // sp, st, se, resource, si, sip, spr, sv, sr, snapshot, rscc, rscd, rsce, rscl, rsct
  const std::string to_sign = permissions + "\n\n" + expiry + "\n" + resource + "\n\n\n\n" +
                              kSasVersion + "\n" + sr + "\n\n\n\n\n\n";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac,
           &mac_len) == nullptr) {
    return err("cannot sign the access token");
  }
  return std::string("sv=") + kSasVersion + "&sr=" + sr + "&sp=" + permissions +
         "&se=" + percent_encode(expiry) + "&sig=" + percent_encode(base64_encode(mac, mac_len));
}

}  // namespace

Result<std::string> container_sas_url(const std::string& endpoint, const std::string& account,
                                      const std::string& account_key, const std::string& container,
                                      std::int64_t expiry_unix_s, const std::string& permissions) {
  auto query =
      sas_query(account_key, "/blob/" + account + "/" + container, "c", expiry_unix_s, permissions);
  if (!query) return query.error();
  return endpoint + "/" + container + "?" + *query;
}

Result<std::string> blob_sas_url(const std::string& endpoint, const std::string& account,
                                 const std::string& account_key, const std::string& container,
                                 const std::string& blob, std::int64_t expiry_unix_s,
                                 const std::string& permissions) {
  auto query = sas_query(account_key, "/blob/" + account + "/" + container + "/" + blob, "b",
                         expiry_unix_s, permissions);
  if (!query) return query.error();
  std::string path;
  for (std::size_t start = 0; start <= blob.size();) {
    const std::size_t end = std::min(blob.find('/', start), blob.size());
    path += "/" + percent_encode(std::string_view(blob).substr(start, end - start));
    start = end + 1;
  }
  return endpoint + "/" + container + path + "?" + *query;
}

std::string redact_sas(std::string text) {
  for (auto at = text.find("sig="); at != std::string::npos; at = text.find("sig=", at + 4)) {
    auto end = text.find_first_of("&\"' \n\t)", at + 4);
    text.replace(at + 4, (end == std::string::npos ? text.size() : end) - (at + 4), "REDACTED");
  }
  return text;
}

}  // namespace batchai
