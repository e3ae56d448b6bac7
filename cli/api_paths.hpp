// The request targets of Batch AI's resource-manager API (2018-05-01) as the control plane serves
// it (docs/protocol.md, "The user's API"): every name percent-encoded as one path segment, every
// target with its api-version.
#pragma once

#include <string>

namespace batchai::cli {

// The control plane's one subscription, and the resource group a user who names none works in
// (the control plane makes it at start, with the workspace and experiment "default").
inline constexpr const char* kSubscription = "00000000-0000-0000-0000-000000000000";
inline constexpr const char* kDefaultResourceGroup = "batchai.local";
inline constexpr const char* kApiVersion = "2018-05-01";

struct WorkspaceRef {
  std::string resource_group;
  std::string workspace;
};

struct JobRef {
  WorkspaceRef workspace;
  std::string experiment;
  std::string name;
};

std::string cluster_target(const WorkspaceRef& ws, const std::string& cluster);
std::string experiment_target(const WorkspaceRef& ws, const std::string& experiment);
std::string jobs_target(const WorkspaceRef& ws, const std::string& experiment);
std::string job_target(const JobRef& job);
std::string job_terminate_target(const JobRef& job);
// The files of stdouterr or an output directory, with download links valid for an hour.
std::string job_output_files_target(const JobRef& job, const std::string& directory);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string encode(const std::string& s);

}  // namespace batchai::cli
