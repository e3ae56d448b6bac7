#include "controlplane/views.hpp"

#include "common/time.hpp"
#include "controlplane/names.hpp"
#include "controlplane/redact.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr const char* kNullWhenAbsent[] = {
    "caffe2Settings",        "caffeSettings",        "chainerSettings",
    "cntkSettings",          "containerSettings",    "customMpiSettings",
    "customToolkitSettings", "environmentVariables", "horovodSettings",
    "inputDirectories",      "jobPreparation",       "mountVolumes",
    "outputDirectories",     "pyTorchSettings",      "secrets",
    "tensorFlowSettings"};

}  // namespace

json view_job(const JobRecord& job) {
  json out = redact_job_properties(job.properties);
  out.erase("$schema");
  for (const char* key : kNullWhenAbsent) {
    if (!out.contains(key)) out[key] = nullptr;
  }
  if (out["mountVolumes"].is_object()) {
    for (const char* kind :
         {"azureFileShares", "azureBlobFileSystems", "fileServers", "unmanagedFileSystems"}) {
      if (!out["mountVolumes"].contains(kind)) out["mountVolumes"][kind] = nullptr;
    }
  }
  if (!out.contains("constraints") || out["constraints"].is_null()) {
    out["constraints"] = {{"maxWallClockTime", "P7D"}};
  }
  if (!out.contains("schedulingPriority") || out["schedulingPriority"].is_null()) {
    out["schedulingPriority"] = "normal";
  }
  const std::string created = iso8601_utc(job.creation_ms);
  const std::string group = group_or_default(job.resource_group);
  out["cluster"] = {{"id", cluster_resource_id(job.resource_group, job.workspace, job.cluster)},
                    {"resourceGroup", group}};
  out["creationTime"] = created;
  out["executionInfo"] = job.info ? protocol::to_json(*job.info) : json(nullptr);
  out["executionState"] = job.state;
  out["executionStateTransitionTime"] = iso8601_utc(job.state_ms);
  out["id"] = job_resource_id(job.resource_group, job.workspace, job.experiment, job.name);
  out["jobOutputDirectoryPathSegment"] =
      output_segment(job.resource_group, job.workspace, job.experiment, job.name, job.uuid);
  out["name"] = job.name;
  out["nodeCount"] = job.node_count;
  out["provisioningState"] = "succeeded";
  out["provisioningStateTransitionTime"] = created;
  out["resourceGroup"] = group;
  out["toolType"] = job.tool_type;
  out["type"] = "Microsoft.BatchAI/workspaces/experiments/jobs";
  return out;
}

}  // namespace batchai::cp
