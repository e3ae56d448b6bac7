// What `az batchai job create` did with the storage account of its configuration
// (AZURE_BATCHAI_STORAGE_ACCOUNT and AZURE_BATCHAI_STORAGE_KEY): a document's volumes may name
// the account by the placeholder <AZURE_BATCHAI_STORAGE_ACCOUNT>, leave out accountName (taken
// from the file share URL) and leave out the key, which is then the configured account's.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace batchai::cli {

struct StorageAccount {
  std::optional<std::string> name;
  std::optional<std::string> key;  // secret: from the environment only, never from argv
};

// The account from the environment.
StorageAccount storage_account_from_environment();

// Fills in mount_volumes (a mountVolumes object) as described above. An Error names the volume
// that needs an account or a key that is not configured.
Status fill_storage_account(nlohmann::json& mount_volumes, const std::string& path,
                            const StorageAccount& account);

}  // namespace batchai::cli
