// The downloadUrl of a job file (listOutputFiles): a control-plane URL that is its own
// credential, read-only and expiring, as a blob SAS is. It names the job (key and uuid, so a
// job made again under the same name does not inherit the links), the directory id, the file
// and the expiry, and carries an HMAC-SHA256 over them with a key made at start (links end
// with a restart of the control plane, as they would on expiry).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace batchai::cp {

struct FileLink {
  std::string job_key;
  std::string uuid;
  std::string directory;  // "stdouterr" or an output directory id
  std::string path;       // relative to the directory, '/'-separated
  std::int64_t expiry_s = 0;
};

inline constexpr const char* kFileLinkPath = "/jobfiles";

class FileLinks {
 public:
  FileLinks();  // a random key
  explicit FileLinks(std::string key) : key_(std::move(key)) {}

  // The path and query of the link (the caller puts the base URL in front).
  std::string make(const FileLink& link) const;
  // The link a request's parameters name, if they are one this control plane made and it has
  // not expired at now_s.
  std::optional<FileLink> check(const std::string& job, const std::string& uuid,
                                const std::string& directory, const std::string& path,
                                const std::string& expiry, const std::string& signature,
                                std::int64_t now_s) const;

 private:
  std::string sign(const FileLink& link) const;
  std::string key_;
};

}  // namespace batchai::cp
