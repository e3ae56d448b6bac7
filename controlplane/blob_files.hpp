// Job files in a blob container (an azureBlobFileSystems volume), read with the Blob REST API
// over libcurl: List Blobs with the delimiter '/' for a directory (blobs are its files, BlobPrefix
// entries its subdirectories), Get Blob with a Range for a chunk. Every request is signed with a
// short service SAS the control plane makes from the key it holds (--storage-accounts) and goes
// to that account's own blob endpoint, never to a host the job's document names. A file's
// downloadUrl is a read-only SAS for that one blob: clients read it from the blob service.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"

namespace batchai::cp {

struct BlobDirectory {
  std::string endpoint;  // the account's blob service, no trailing '/'
  std::string account;
  std::string key;  // the account key (base64)
  std::string container;
  std::string path;  // in the container, '/'-separated, no "." or ".." components; "" the root
};

// Whether name is one plain blob path component: is_safe_file_name, at most 255 bytes, no
// control characters and no '\\' (which some tools read as '/').
bool is_blob_name(const std::string& name);

// Whether name is a container name the service allows: 3 to 63 lower-case letters, digits and
// single '-' between them.
bool is_container_name(const std::string& name);

// [{"name", "size", "lastModified"}] of the blobs directly in the directory, sorted by name,
// with with_directories also {"name", "directory": true} of its subdirectories; names the
// control plane would not serve are left out. A directory with no blobs is empty.
std::variant<nlohmann::json, ApiError> list_blob_files(const BlobDirectory& dir,
                                                       bool with_directories);

// The read-only SAS URL of dir/name until expiry_unix_s.
std::variant<std::string, ApiError> blob_download_url(const BlobDirectory& dir,
                                                      const std::string& name,
                                                      std::int64_t expiry_unix_s);

}  // namespace batchai::cp
