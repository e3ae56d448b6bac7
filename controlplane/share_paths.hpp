// Where a job's directory is when it is on an Azure Files share or in a blob container: a path
// that starts with
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath> (a volume of the job) or
// $AZ_BATCHAI_MOUNT_ROOT/<relativeMountPath> (a volume of its cluster) of an azureFileShares
// volume is read from that share (of an azureBlobFileSystems volume, from that container), at the
// file (blob) endpoint of its storage account and with the key
// the control plane holds for it (--storage-accounts); never with a host or key the document
// names, so a job cannot point the control plane at another server.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"
#include "controlplane/blob_files.hpp"
#include "controlplane/smb_files.hpp"
#include "controlplane/storage_accounts.hpp"

namespace batchai::cp {

// The 404 of a job directory the control plane cannot read: "<field> <why>".
ApiError files_not_reachable(const std::string& field, const std::string& why);

struct ShareVolumes {
  nlohmann::json job;      // the job's mountVolumes (or null)
  nlohmann::json cluster;  // its cluster's nodeSetup.mountVolumes (or null)
  const StorageAccounts* accounts = nullptr;
};

// Whether name is one plain SMB name: no '\\' (SMB's separator), ':' (a stream), wildcards,
// '$' or control characters.
bool is_smb_name(const std::string& name);

// None when text is on no share (the caller looks on the node's disk); else the share's
// directory with suffix appended ('/'-separated, below the path), or why it cannot be read.
// A volume of the job or its cluster and a path in it ('/'-separated, no "." or "..").
struct OnVolume {
  const nlohmann::json* volume = nullptr;
  std::string path;
};

// None when text (with suffix) is on no volume of kind ("azureFileShares",
// "azureBlobFileSystems") of the job or its cluster; else that volume and the path in it, or why
// the control plane does not follow the path.
std::optional<std::variant<OnVolume, ApiError>> on_volume(const std::string& text,
                                                          const std::string& suffix,
                                                          const std::string& field,
                                                          const ShareVolumes& volumes,
                                                          const char* kind);

std::optional<std::variant<SmbDirectory, ApiError>> share_directory(const std::string& text,
                                                                    const std::string& suffix,
                                                                    const std::string& field,
                                                                    const ShareVolumes& volumes);

// The same for a blob container (an azureBlobFileSystems volume: accountName, containerName):
// at the blob endpoint of the held account, with its key; every name below the volume's mount
// point must be a plain blob name (is_blob_name), 1024 bytes in all at most.
std::optional<std::variant<BlobDirectory, ApiError>> blob_directory(const std::string& text,
                                                                    const std::string& suffix,
                                                                    const std::string& field,
                                                                    const ShareVolumes& volumes);

}  // namespace batchai::cp
