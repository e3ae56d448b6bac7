#include "controlplane/file_links.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

#include "common/digest.hpp"

namespace batchai::cp {

namespace {

std::string q(const std::string& v) {
  return httplib::detail::encode_query_param(v);
}

}  // namespace

FileLinks::FileLinks() : key_(32, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), 32) != 1) {
    throw std::runtime_error("no random bytes for the file link key");
  }
}

std::string FileLinks::sign(const FileLink& l) const {
  // NUL separates the fields: none of them can hold one.
  std::string text = l.job_key;
  for (const std::string* f : {&l.uuid, &l.directory, &l.path}) text += std::string(1, '\0') + *f;
  text += std::string(1, '\0') + std::to_string(l.expiry_s);
  return hmac_sha256_hex(key_, text);
}

std::string FileLinks::make(const FileLink& l) const {
  return std::string(kFileLinkPath) + "?job=" + q(l.job_key) + "&uuid=" + q(l.uuid) +
         "&dir=" + q(l.directory) + "&path=" + q(l.path) + "&se=" + std::to_string(l.expiry_s) +
         "&sig=" + sign(l);
}

std::optional<FileLink> FileLinks::check(const std::string& job, const std::string& uuid,
                                         const std::string& directory, const std::string& path,
                                         const std::string& expiry, const std::string& signature,
                                         std::int64_t now_s) const {
  for (const std::string* f : {&job, &uuid, &directory, &path, &expiry, &signature}) {
    if (f->size() > 1024 || f->find('\0') != std::string::npos) return std::nullopt;
  }
  FileLink l{job, uuid, directory, path, 0};
  auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), l.expiry_s);
  if (expiry.empty() || ec != std::errc() || end != expiry.data() + expiry.size()) {
    return std::nullopt;
  }
  const std::string expected = sign(l);
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  if (now_s >= l.expiry_s) return std::nullopt;
  return l;
}

}  // namespace batchai::cp
