#include "cli/api_paths.hpp"

#include <algorithm>

namespace batchai::cli {

std::string encode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  // "." and ".." would be dot segments that a URL parser removes: encode their dots too.
  bool only_dots = std::all_of(s.begin(), s.end(), [](char c) { return c == '.'; });
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '~' || (c == '.' && !only_dots);
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string cluster_path(const std::string& cluster) {
  return "/v1/clusters/" + encode(cluster);
}

std::string jobs_path(const std::string& workspace, const std::string& experiment) {
  return "/v1/workspaces/" + encode(workspace) + "/experiments/" + encode(experiment) + "/jobs";
}

std::string job_path(const JobRef& job) {
  return jobs_path(job.workspace, job.experiment) + "/" + encode(job.name);
}

std::string job_terminate_path(const JobRef& job) {
  return job_path(job) + "/terminate";
}

std::string job_files_path(const JobRef& job, const std::string& directory) {
  return job_path(job) + "/files?directory=" + encode(directory);
}

std::string job_file_path(const JobRef& job, const std::string& directory, const std::string& file,
                          std::int64_t offset) {
  return job_path(job) + "/files/" + encode(directory) + "/" + encode(file) +
         "?offset=" + std::to_string(offset);
}

}  // namespace batchai::cli
