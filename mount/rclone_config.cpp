#include "mount/rclone_config.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>

#include "common/base64.hpp"

namespace batchai {

namespace {

// rclone's fs/config/obscure: a fixed key, public by design.
constexpr std::array<unsigned char, 32> kObscureKey = {
    0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
    0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38};

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

}  // namespace

Result<std::string> rclone_obscure(const std::string& text) {
  std::vector<unsigned char> out(16 + text.size());
  if (RAND_bytes(out.data(), 16) != 1) return err("cannot get random bytes for rclone's config");
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr, kObscureKey.data(), out.data()) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), out.data() + 16, &len,
                        reinterpret_cast<const unsigned char*>(text.data()),
                        static_cast<int>(text.size())) != 1) {
    return err("cannot obscure a secret for rclone's config");
  }
  return base64_encode(out.data(), out.size(), Base64Alphabet::kUrlSafe, false);
}

Result<std::string> rclone_config(
    const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string text = "[volume]\n";
  for (const auto& [key, value] : settings) {
    if (value.find_first_of("\r\n") != std::string::npos) {
      return err("the rclone setting " + key + " must be on one line");
    }
    text += key + " = " + value + "\n";
  }
  return text;
}

}  // namespace batchai
