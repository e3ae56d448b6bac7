#include "controlplane/names.hpp"

#include <charconv>
#include <vector>

namespace batchai::cp {

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string workspace_prefix(const std::string& rg, const std::string& ws) {
  return group_resource_id(rg) + "/providers/Microsoft.BatchAI/workspaces/" +
         workspace_or_default(ws);
}

}  // namespace

bool is_valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!is_word_char(c)) return false;
  }
  return true;
}

bool is_valid_node_id(const std::string& id) {
  if (id.empty() || id.size() > 256 || id[0] == '.') return false;
  for (char c : id) {
    if (!is_word_char(c) && c != '.') return false;
  }
  return true;
}

std::string job_key(const std::string& ws, const std::string& exp, const std::string& job) {
  return ws + "/" + exp + "/" + job;
}

std::string group_or_default(const std::string& resource_group) {
  return resource_group.empty() ? kResourceGroup : resource_group;
}

std::string workspace_or_default(const std::string& workspace) {
  return workspace.empty() ? kDefaultWorkspace : workspace;
}

std::string output_segment(const std::string& rg, const std::string& ws, const std::string& exp,
                           const std::string& job, const std::string& uuid) {
  return std::string(kSubscription) + "/" + group_or_default(rg) + "/workspaces/" + ws +
         "/experiments/" + exp + "/jobs/" + job + "/" + uuid;
}

std::string task_id(const std::string& ws, const std::string& exp, const std::string& job,
                    const std::string& uuid, int index) {
  return job_key(ws, exp, job) + "/" + uuid + "/" + std::to_string(index);
}

std::optional<TaskRef> parse_task_id(const std::string& id) {
  auto parts = split(id, '/');
  if (parts.size() != 5) return std::nullopt;
  for (int i = 0; i < 3; ++i) {
    if (!is_valid_name(parts[i])) return std::nullopt;
  }
  TaskRef ref;
  ref.job_key = job_key(parts[0], parts[1], parts[2]);
  ref.uuid = parts[3];
  const std::string& n = parts[4];
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), ref.index);
  if (n.empty() || ec != std::errc() || end != n.data() + n.size() || ref.index < 0) {
    return std::nullopt;
  }
  return ref;
}

std::string group_resource_id(const std::string& rg) {
  return std::string("/subscriptions/") + kSubscription + "/resourceGroups/" + group_or_default(rg);
}

std::string workspace_resource_id(const std::string& rg, const std::string& ws) {
  return workspace_prefix(rg, ws);
}

std::string experiment_resource_id(const std::string& rg, const std::string& ws,
                                   const std::string& exp) {
  return workspace_prefix(rg, ws) + "/experiments/" + exp;
}

std::string job_resource_id(const std::string& rg, const std::string& ws, const std::string& exp,
                            const std::string& job) {
  return experiment_resource_id(rg, ws, exp) + "/jobs/" + job;
}

std::string cluster_resource_id(const std::string& rg, const std::string& ws,
                                const std::string& cluster) {
  return workspace_prefix(rg, ws) + "/clusters/" + cluster;
}

}  // namespace batchai::cp
