#include "controlplane/ssh_identity.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "common/base64.hpp"

namespace batchai::cp {

namespace {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

constexpr const char* kKeyType = "ecdsa-sha2-nistp256";

// RFC 4251's string: a 4-byte big-endian length, then the bytes.
void put_string(std::string& out, const std::string& bytes) {
  const auto n = static_cast<std::uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out += bytes;
}

Result<std::string> private_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return err("cannot encode an SSH key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// RFC 5656: "ecdsa-sha2-nistp256", "nistp256", the uncompressed point; as a public key line.
Result<std::string> public_line(EVP_PKEY* key) {
  unsigned char point[133];
  std::size_t size = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point,
                                      &size) != 1 ||
      size != 65 || point[0] != 0x04) {
    return err("cannot encode an SSH public key");
  }
  std::string blob;
  put_string(blob, kKeyType);
  put_string(blob, "nistp256");
  put_string(blob, std::string(reinterpret_cast<const char*>(point), size));
  return std::string(kKeyType) + " " +
         base64_encode(reinterpret_cast<const unsigned char*>(blob.data()), blob.size());
}

Result<std::pair<std::string, std::string>> make_pair() {
  PKey key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) return err("cannot make an SSH key");
  auto pem = private_pem(key.get());
  if (!pem) return pem.error();
  auto pub = public_line(key.get());
  if (!pub) return pub.error();
  return std::make_pair(std::move(*pem), std::move(*pub));
}

}  // namespace

Result<protocol::JobSshIdentity> make_job_ssh_identity() {
  auto client = make_pair();
  if (!client) return client.error();
  auto host = make_pair();
  if (!host) return host.error();
  return protocol::JobSshIdentity{client->first, client->second, host->first, host->second};
}

}  // namespace batchai::cp
