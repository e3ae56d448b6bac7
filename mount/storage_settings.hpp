// How this node reaches storage: the "storage" settings of docs/mounts.md (the daemon's
// configuration, or run-job's --storage-config file). Defaults are Azure's public cloud.
#pragma once

#include <string>

namespace batchai {

enum class SmbDriver { kAuto, kCifs, kRclone };
enum class BlobDriver { kAuto, kRclone };

struct StorageSettings {
  std::string azure_file_host;  // "" = the host of azureFileUrl; "{account}" is replaced
  int smb_port = 445;
  SmbDriver smb_driver = SmbDriver::kAuto;
  std::string azure_blob_endpoint = "https://{account}.blob.core.windows.net";
  BlobDriver blob_driver = BlobDriver::kAuto;
  int mount_timeout_seconds = 120;
  int mount_attempts = 3;
  std::string runtime_directory = "/run/batchai-agent";
  std::string cache_directory;  // "" = <root>/cache
};

// "{account}" in pattern replaced by account.
std::string with_account(const std::string& pattern, const std::string& account);

}  // namespace batchai
