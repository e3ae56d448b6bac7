// The mountOptions a job may give its volumes (reference §6), as allow-lists: an option not on
// its driver's list is refused by name, at validation and again where the mount's options are
// built, so nothing a document says reaches a mount driver as a flag it did not mean to allow
// (rclone's remote control, its TLS switches, suid on an NFS export, ...).
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

// azureBlobFileSystems.mountOptions, blobfuse's syntax ("-o attr_timeout=240 -o ro", "--a=b"),
// as rclone's options ("attr_timeout=240s", "read_only"). blobfuse's own options with no rclone
// counterpart, or that the agent sets, are accepted and left out.
Result<std::vector<std::string>> blob_mount_options(const std::string& mount_options);

// fileServers.mountOptions: mount(8)'s comma-separated nfs options; "" for the default ("rw").
Result<std::vector<std::string>> nfs_mount_options(const std::string& mount_options);

}  // namespace batchai
