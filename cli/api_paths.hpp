// The user API's request targets (docs/protocol.md, "User messages"), every name
// percent-encoded as one path segment.
#pragma once

#include <cstdint>
#include <string>

namespace batchai::cli {

struct JobRef {
  std::string workspace;
  std::string experiment;
  std::string name;
};

std::string cluster_path(const std::string& cluster);
std::string jobs_path(const std::string& workspace, const std::string& experiment);
std::string job_path(const JobRef& job);
std::string job_terminate_path(const JobRef& job);
std::string job_files_path(const JobRef& job, const std::string& directory);
std::string job_file_path(const JobRef& job, const std::string& directory, const std::string& file,
                          std::int64_t offset);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string encode(const std::string& s);

}  // namespace batchai::cli
