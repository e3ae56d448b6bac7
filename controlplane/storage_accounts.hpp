// The storage accounts of the minimal Microsoft.Storage provider (--storage-accounts FILE, a
// JSON file that holds their keys, so 0600): what `az storage account create` may make, and
// what `az batchai job create --storage-account-name` looks up to fill in a job's account key.
// The accounts themselves are storage services on the network (Azurite for blobs, Samba for
// Azure Files); this control plane only names them and hands out their keys.
//   {"accounts": [{"name": "baiquickstart", "key": "<base64>", "location": "local",
//                  "blobEndpoint": "http://127.0.0.1:10000/baiquickstart/",
//                  "fileEndpoint": "smb://127.0.0.1/", "resourceGroup": "optional"}]}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai::cp {

struct StorageAccount {
  std::string name;
  std::string key;
  std::string location = "local";
  std::string blob_endpoint;
  std::string file_endpoint;
  std::string resource_group;  // "" until created (or when the file names none)
};

class StorageAccounts {
 public:
  static Result<StorageAccounts> parse(const std::string& text);
  const StorageAccount* find(const std::string& name) const;
  const std::vector<StorageAccount>& all() const { return accounts_; }

 private:
  std::vector<StorageAccount> accounts_;
};

// Storage account names: 3 to 24 lower-case letters and digits.
bool is_valid_storage_account_name(const std::string& name);

}  // namespace batchai::cp
