#include "cli/api_paths.hpp"

#include <algorithm>

namespace batchai::cli {

namespace {

std::string workspace_path(const WorkspaceRef& ws) {
  return std::string("/subscriptions/") + kSubscription + "/resourceGroups/" +
         encode(ws.resource_group) + "/providers/Microsoft.BatchAI/workspaces/" +
         encode(ws.workspace);
}

std::string job_path(const JobRef& job) {
  return workspace_path(job.workspace) + "/experiments/" + encode(job.experiment) + "/jobs/" +
         encode(job.name);
}

std::string with_version(const std::string& path) {
  return path + "?api-version=" + kApiVersion;
}

}  // namespace

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

std::string cluster_target(const WorkspaceRef& ws, const std::string& cluster) {
  return with_version(workspace_path(ws) + "/clusters/" + encode(cluster));
}

std::string experiment_target(const WorkspaceRef& ws, const std::string& experiment) {
  return with_version(workspace_path(ws) + "/experiments/" + encode(experiment));
}

std::string jobs_target(const WorkspaceRef& ws, const std::string& experiment) {
  return with_version(workspace_path(ws) + "/experiments/" + encode(experiment) + "/jobs");
}

std::string job_target(const JobRef& job) {
  return with_version(job_path(job));
}

std::string job_terminate_target(const JobRef& job) {
  return with_version(job_path(job) + "/terminate");
}

std::string job_output_files_target(const JobRef& job, const std::string& directory) {
  return with_version(job_path(job) + "/listOutputFiles") +
         "&outputdirectoryid=" + encode(directory) + "&linkexpiryinminutes=60";
}

}  // namespace batchai::cli
