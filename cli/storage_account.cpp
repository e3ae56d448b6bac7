#include "cli/storage_account.hpp"

#include <cctype>
#include <cstdlib>

namespace batchai::cli {

namespace {

// The account of https://<account>.file.core.windows.net/...: "" when the URL has none.
std::string account_of_url(const std::string& url) {
  std::size_t start = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  if (start == 0) return "";
  std::size_t end = start;
  while (end < url.size() &&
         (std::isalnum(static_cast<unsigned char>(url[end])) || url[end] == '-'))
    ++end;
  return end > start && end < url.size() && url[end] == '.' ? url.substr(start, end - start) : "";
}

using nlohmann::json;

constexpr const char* kPlaceholder = "<AZURE_BATCHAI_STORAGE_ACCOUNT>";

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

bool has_key(const json& volume) {
  const json* c = volume.contains("credentials") ? &volume["credentials"] : nullptr;
  return c != nullptr && c->is_object() &&
         ((c->contains("accountKey") && !(*c)["accountKey"].is_null()) ||
          (c->contains("accountKeySecretReference") &&
           !(*c)["accountKeySecretReference"].is_null()));
}

}  // namespace

StorageAccount storage_account_from_environment() {
  StorageAccount a;
  if (const char* n = std::getenv("AZURE_BATCHAI_STORAGE_ACCOUNT"); n != nullptr && *n) a.name = n;
  if (const char* k = std::getenv("AZURE_BATCHAI_STORAGE_KEY"); k != nullptr && *k) a.key = k;
  return a;
}

Status fill_storage_account(json& mount_volumes, const std::string& path,
                            const StorageAccount& account) {
  if (!mount_volumes.is_object()) return ok();
  for (const char* kind : {"azureFileShares", "azureBlobFileSystems"}) {
    if (!mount_volumes.contains(kind) || !mount_volumes[kind].is_array()) continue;
    auto& list = mount_volumes[kind];
    for (std::size_t i = 0; i < list.size(); ++i) {
      json& v = list[i];
      if (!v.is_object()) continue;  // the server says what is wrong with it
      const std::string at = path + "." + kind + "[" + std::to_string(i) + "]";
      auto need_name = [&]() -> Result<std::string> {
        if (!account.name) {
          return err(at + " names " + kPlaceholder +
                     ": set AZURE_BATCHAI_STORAGE_ACCOUNT to the storage account's name");
        }
        return *account.name;
      };
      if (v.contains("azureFileUrl") && v["azureFileUrl"].is_string()) {
        std::string url = v["azureFileUrl"];
        if (url.find(kPlaceholder) != std::string::npos) {
          auto name = need_name();
          if (!name) return name.error();
          replace_all(url, kPlaceholder, *name);
          v["azureFileUrl"] = url;
        }
        if (!v.contains("accountName") || v["accountName"].is_null()) {
          if (auto account = account_of_url(url); !account.empty()) v["accountName"] = account;
        }
      }
      if (v.contains("accountName") && v["accountName"] == kPlaceholder) {
        auto name = need_name();
        if (!name) return name.error();
        v["accountName"] = *name;
      }
      if (has_key(v) || !v.contains("accountName") || !v["accountName"].is_string()) continue;
      const std::string name = v["accountName"];
      if (!account.name || *account.name != name || !account.key) {
        return err(at + ": no key for the storage account \"" + name +
                   "\": give credentials.accountKey, or set AZURE_BATCHAI_STORAGE_ACCOUNT=" + name +
                   " and AZURE_BATCHAI_STORAGE_KEY");
      }
      v["credentials"] = {{"accountKey", *account.key}};
    }
  }
  return ok();
}

}  // namespace batchai::cli
