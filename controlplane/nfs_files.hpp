// Job files on an NFS file server (a fileServers volume), read with libnfs's sync API (Debian's
// libnfs-dev): the control plane's side of listOutputFiles for a job whose stdouterr or output
// directory is on a file server (docs/real-clients.md). It connects only to the file servers it
// is configured with (--file-server), mounts only their export, and walks down from there
// without following a symbolic link. A context per call, every call bounded by a timeout.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"
#include "controlplane/file_chunk.hpp"

namespace batchai::cp {

struct NfsDirectory {
  std::string host;         // the server's address (--file-server), never the document's
  std::string export_path;  // the server's export (--file-server), what is mounted
  std::string path;         // below the export: '/'-separated, no "." or ".."; "" the export
  int version = 3;          // 3 or 4 (the volume's vers= / nfsvers=)
  int port = 0;             // the volume's port=: 0 the portmapper's (v3) or 2049 (v4)
  int mount_port = 0;       // the volume's mountport= (v3): 0 the portmapper's
};

// Whether name is one plain NFS name: 1 to 255 bytes, no '/', NUL or control characters.
bool is_nfs_name(const std::string& name);

// [{"name", "size", "lastModified"}] of the regular files in the directory, sorted by name,
// with with_directories also {"name", "directory": true, "lastModified"} of its
// subdirectories; symbolic links are left out. A directory that does not exist (yet) is empty.
std::variant<nlohmann::json, ApiError> list_nfs_files(const NfsDirectory& dir,
                                                      bool with_directories);

// At most max_bytes of dir/name from offset; a symbolic link is not followed.
std::variant<FileChunk, ApiError> read_nfs_chunk(const NfsDirectory& dir, const std::string& name,
                                                 std::int64_t offset, std::size_t max_bytes);

}  // namespace batchai::cp
