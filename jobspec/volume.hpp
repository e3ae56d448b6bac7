// A volume of mountVolumes (reference §6) as the parser produced it from a job document or a
// cluster's nodeSetup: validated, strings as written.
#pragma once

#include <optional>
#include <string>

namespace batchai {

enum class VolumeKind { kAzureFileShare, kAzureBlob, kFileServer, kUnmanaged };
// The field name in the document, e.g. "azureFileShares".
std::string volume_field(VolumeKind k);
// Batch AI's error code for a failed mount of this kind of volume (AZFMountError, ...).
std::string mount_error_code(VolumeKind k);

struct MountVolume {
  VolumeKind kind = VolumeKind::kUnmanaged;
  std::string json_path;  // e.g. "properties.mountVolumes.unmanagedFileSystems[0]"
  std::string relative_mount_path;
  // azureFileShares / azureBlobFileSystems
  std::string account_name;
  std::optional<std::string> account_key;  // secret
  std::string azure_file_url;
  std::string file_mode = "0777";
  std::string directory_mode = "0777";
  std::string container_name;
  // fileServers: the id, and the server's address and export as the control plane resolved them
  std::string file_server_id;
  std::string file_server_ip;
  std::string file_server_export;
  std::optional<std::string> source_directory;
  // azureBlobFileSystems, fileServers
  std::optional<std::string> mount_options;
  // unmanagedFileSystems
  std::string mount_command;
};

}  // namespace batchai
