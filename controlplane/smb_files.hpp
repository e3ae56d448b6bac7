// Job files on an Azure Files share, read over SMB with libsmbclient (Debian's
// libsmbclient-dev): the control plane's side of listOutputFiles for a job whose stdouterr or
// output directory is on a share (docs/real-clients.md). It connects only to the file endpoints
// of the storage accounts it holds (--storage-accounts), with their keys; a context per call,
// and one call at a time (libsmbclient keeps per-process state).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"
#include "controlplane/file_chunk.hpp"

namespace batchai::cp {

struct SmbDirectory {
  std::string host;
  int port = 445;
  std::string share;
  std::string path;      // in the share, '/'-separated, no "." or ".." components; "" the root
  std::string user;      // the account name
  std::string password;  // the account key
};

// [{"name", "size", "lastModified"}] of the regular files in the directory, sorted by name,
// with with_directories also {"name", "directory": true, "lastModified"} of its
// subdirectories; a directory that does not exist (yet) is empty.
std::variant<nlohmann::json, ApiError> list_smb_files(const SmbDirectory& dir,
                                                      bool with_directories);

// At most max_bytes of dir/name from offset.
std::variant<FileChunk, ApiError> read_smb_chunk(const SmbDirectory& dir, const std::string& name,
                                                 std::int64_t offset, std::size_t max_bytes);

}  // namespace batchai::cp
