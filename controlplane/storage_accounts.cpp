#include "controlplane/storage_accounts.hpp"

#include <nlohmann/json.hpp>

namespace batchai::cp {

using nlohmann::json;

namespace {

bool is_url(const std::string& text) {
  if (text.size() > 512) return false;
  for (const char* scheme : {"http://", "https://", "smb://"}) {
    if (text.starts_with(scheme)) return true;
  }
  return text.empty();
}

}  // namespace

bool is_valid_storage_account_name(const std::string& name) {
  if (name.size() < 3 || name.size() > 24) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Result<StorageAccounts> StorageAccounts::parse(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("accounts") ||
      !doc["accounts"].is_array()) {
    return err("must be a JSON object {\"accounts\": [...]}");
  }
  StorageAccounts out;
  std::size_t i = 0;
  for (const auto& a : doc["accounts"]) {
    const std::string at = "accounts[" + std::to_string(i++) + "]";
    if (!a.is_object()) return err(at + ": must be an object");
    for (const auto& [key, value] : a.items()) {
      const bool known = key == "name" || key == "key" || key == "location" ||
                         key == "blobEndpoint" || key == "fileEndpoint" || key == "resourceGroup";
      std::string field = at;
      field += "." + key;
      if (!known) return err(field + ": is not a known field");
      if (!value.is_string()) return err(field + ": must be a string");
    }
    StorageAccount s;
    s.name = a.value("name", "");
    s.key = a.value("key", "");
    s.location = a.value("location", "local");
    s.blob_endpoint = a.value("blobEndpoint", "");
    s.file_endpoint = a.value("fileEndpoint", "");
    s.resource_group = a.value("resourceGroup", "");
    if (!is_valid_storage_account_name(s.name)) {
      return err(at + ".name: must be 3 to 24 lower-case letters and digits");
    }
    if (s.key.empty() || s.key.size() > 512) return err(at + ".key: must be 1 to 512 characters");
    if (!is_url(s.blob_endpoint)) return err(at + ".blobEndpoint: must be an http(s) URL");
    if (!is_url(s.file_endpoint)) return err(at + ".fileEndpoint: must be an smb or https URL");
    if (out.find(s.name)) return err(at + ".name: " + s.name + " is repeated");
    out.accounts_.push_back(std::move(s));
  }
  return out;
}

const StorageAccount* StorageAccounts::find(const std::string& name) const {
  for (const auto& a : accounts_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace batchai::cp
