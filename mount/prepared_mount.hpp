// What mounting one managed volume takes: the libmount request and the root-only files it names
// (credentials, rclone's config). Built per volume type by the functions below; carried out by
// mount/volume_mount.hpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "jobspec/volume.hpp"
#include "mount/helper_mount.hpp"
#include "mount/storage_settings.hpp"

namespace batchai {

// Where one mount keeps its things on the node.
struct MountSite {
  std::string target;     // the mount point
  std::string files_dir;  // root-only (0700): credentials, driver config and log
  std::string cache_dir;  // a FUSE driver's cache
  // How long a credential made for the mount (a blob SAS) may live; 0: a cluster volume's, which
  // lives as long as the node (kClusterCredentialSeconds).
  std::int64_t credential_lifetime_s = 0;
};

struct PreparedMount {
  MountRequest request;
  std::vector<std::pair<std::string, std::string>> files;  // path -> content, written 0600
  std::string description;  // what is mounted, for execution.log: never a secret
  // Blob containers: asked about first (mount/blob_probe.hpp); the URL holds a token.
  std::string probe_sas_url;
  std::string probe_display_url;
};

// azureFileShares: kernel cifs, or rclone's smb backend through FUSE (settings.smb_driver).
Result<PreparedMount> prepare_azure_file_share(const MountVolume& v, const MountSite& site,
                                               const StorageSettings& settings);

// azureBlobFileSystems: rclone's azureblob backend through FUSE.
Result<PreparedMount> prepare_azure_blob(const MountVolume& v, const MountSite& site,
                                         const StorageSettings& settings);

// fileServers: kernel NFS to the address and export the control plane resolved.
Result<PreparedMount> prepare_file_server(const MountVolume& v, const MountSite& site);

// Whether the kernel can mount cifs: built in, or a module of the running kernel.
bool kernel_has_cifs();

// The mount helper libmount would run for fstype, or "" when none is installed.
std::string find_mount_helper(const std::string& fstype);

}  // namespace batchai
