// A job's files as the control plane sees them. A directory on an Azure Files share of the job
// or its cluster is read from the share over SMB, one in a blob container with the Blob REST API
// (controlplane/share_paths.hpp, blob_files.hpp), one on an NFS file server of the control plane
// (a fileServers volume) with libnfs (nfs_paths.hpp, nfs_files.hpp). Otherwise, with
// --node-root, the job's stdouterr/ and output directories are found below <node
// root>/shared/LS_root/mounts, expanding only $AZ_BATCHAI_MOUNT_ROOT (cluster volumes, which the
// control plane's host has mounted at the same place). Anything else (job volumes, the node's local
// disk) is on the node only. Nothing outside the mount root is ever served: directories and files
// are opened beneath the node root with no symbolic link followed (common/beneath.hpp), wherever
// the document points.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"
#include "controlplane/file_chunk.hpp"
#include "controlplane/model.hpp"
#include "controlplane/nfs_paths.hpp"
#include "controlplane/share_paths.hpp"

namespace batchai::cp {

// A job's directory: `relative` below the node root, always below its mount root.
struct JobDirectory {
  std::string node_root;
  std::string relative;
  std::optional<SmbDirectory> smb;    // on an Azure Files share: read over SMB instead
  std::optional<BlobDirectory> blob;  // in a blob container: read with the Blob REST API
  std::optional<NfsDirectory> nfs{};  // on an NFS file server: read with libnfs
};

// What locates a job's directories besides the job: the node's root as this host sees it, the
// job's cluster's volumes, the storage accounts the control plane holds (share_paths.hpp) and
// the file servers it is configured with (nfs_paths.hpp).
struct JobFilesPlace {
  std::optional<std::string> node_root;
  nlohmann::json cluster_volumes;
  const StorageAccounts* accounts = nullptr;
  const FileServers* file_servers = nullptr;
};

// The job's directory "stdouterr" or output directory <id>.
std::variant<JobDirectory, ApiError> job_directory(const JobRecord& job,
                                                   const std::string& directory,
                                                   const JobFilesPlace& place);

// The place of a job's files: the cluster's nodeSetup.mountVolumes read from the state.
JobFilesPlace job_files_place(const State& s, const JobRecord& job,
                              const std::optional<std::string>& node_root,
                              const StorageAccounts* accounts);

// [{"name", "size", "lastModified"}] of the regular files in dir (sorted by name; symbolic
// links are left out), with with_directories also {"name", "directory": true, "lastModified"}
// of its subdirectories (no lastModified in a blob container, where directories are only
// prefixes). A directory that does not exist yet is empty.
std::variant<nlohmann::json, ApiError> list_files(const JobDirectory& dir,
                                                  bool with_directories = false);

// dir moved down to relative: '/'-separated names, none empty, "." or "..", at most 32 of them
// and 1024 bytes in all. A 400 naming the problem otherwise.
std::optional<ApiError> descend(JobDirectory& dir, const std::string& relative);

// For a directory in a blob container, the read-only SAS URL of its file name until
// expiry_unix_s, which clients read from the blob service itself; none for other directories.
std::optional<std::variant<std::string, ApiError>> storage_download_url(const JobDirectory& dir,
                                                                        const std::string& name,
                                                                        std::int64_t expiry_unix_s);

// At most max_bytes of dir/name from offset. name is one path component; the file is opened
// without following a symbolic link and must be a regular file.
std::variant<FileChunk, ApiError> read_file_chunk(const JobDirectory& dir, const std::string& name,
                                                  std::int64_t offset, std::size_t max_bytes);

// A single file name: not empty, not "." or "..", no '/' and no NUL.
bool is_safe_file_name(const std::string& name);

}  // namespace batchai::cp
