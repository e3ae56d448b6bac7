#include "controlplane/workspaces.hpp"

#include <vector>

#include "controlplane/arm_path.hpp"
#include "controlplane/jobs.hpp"
#include "controlplane/names.hpp"
#include "controlplane/nodes.hpp"

namespace batchai::cp {

void delete_cluster(State& s, const std::string& name, std::int64_t now, Events& events) {
  auto it = s.clusters.find(name);
  if (it == s.clusters.end() || it->second.deleting) return;
  it->second.deleting = true;
  events.push_back("cluster " + name + ": deleted; its jobs end and its nodes leave");
  std::vector<std::string> jobs;
  for (const auto& [key, job] : s.jobs) {
    if (job.cluster == name) jobs.push_back(key);
  }
  for (const auto& key : jobs) {
    bool changed = false;
    terminate_job(s, key, now, changed, events);
  }
  for (auto& [id, node] : s.nodes) {
    if (node.cluster != name || !node.leave.empty()) continue;
    node.leave = "terminate";
    bump(node);
  }
  forget_deleted_cluster(s, name, events);
}

void delete_workspace(State& s, const std::string& workspace, std::int64_t now, Events& events) {
  std::vector<std::string> jobs, clusters;
  for (const auto& [key, job] : s.jobs) {
    if (job.workspace == workspace && !job.deleted) jobs.push_back(key);
  }
  for (const auto& key : jobs) delete_job(s, key, now, events);
  for (const auto& [name, c] : s.clusters) {
    if (c.workspace == workspace) clusters.push_back(name);
  }
  for (const auto& name : clusters) delete_cluster(s, name, now, events);
  const std::string prefix = workspace + "/";
  for (auto it = s.experiments.lower_bound(prefix);
       it != s.experiments.end() && it->first.starts_with(prefix);) {
    it = s.experiments.erase(it);
  }
  if (s.workspaces.erase(workspace) != 0) events.push_back("workspace " + workspace + ": deleted");
}

void delete_group(State& s, const std::string& group_key, std::int64_t now, Events& events) {
  std::vector<std::string> workspaces;
  for (const auto& [name, w] : s.workspaces) {
    if (lower_ascii(w.resource_group) == group_key) workspaces.push_back(name);
  }
  for (const auto& name : workspaces) delete_workspace(s, name, now, events);
  for (auto it = s.storage_account_groups.begin(); it != s.storage_account_groups.end();) {
    it = lower_ascii(it->second) == group_key ? s.storage_account_groups.erase(it) : std::next(it);
  }
  if (s.resource_groups.erase(group_key) != 0) {
    events.push_back("resource group " + group_key + ": deleted");
  }
}

const WorkspaceRecord* find_workspace(const State& s, const std::string& group,
                                      const std::string& workspace) {
  auto it = s.workspaces.find(workspace);
  if (it == s.workspaces.end()) return nullptr;
  if (lower_ascii(it->second.resource_group) != lower_ascii(group)) return nullptr;
  return &it->second;
}

}  // namespace batchai::cp
