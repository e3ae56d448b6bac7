// Where a job's directory is when it is on an Azure Files share: a path that starts with
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath> (a volume of the job) or
// $AZ_BATCHAI_MOUNT_ROOT/<relativeMountPath> (a volume of its cluster) of an azureFileShares
// volume is read from that share, at the file endpoint of its storage account and with the key
// the control plane holds for it (--storage-accounts); never with a host or key the document
// names, so a job cannot point the control plane at another server.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"
#include "controlplane/smb_files.hpp"
#include "controlplane/storage_accounts.hpp"

namespace batchai::cp {

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
std::optional<std::variant<SmbDirectory, ApiError>> share_directory(const std::string& text,
                                                                    const std::string& suffix,
                                                                    const std::string& field,
                                                                    const ShareVolumes& volumes);

}  // namespace batchai::cp
