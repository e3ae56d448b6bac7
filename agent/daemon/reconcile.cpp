#include "agent/daemon/reconcile.hpp"

namespace batchai {

namespace {

using Kind = TaskAction::Kind;

bool is_final(const NodeAdmission& node, const std::string& id) {
  auto it = node.final_by_task.find(id);
  return it != node.final_by_task.end() && it->second;
}

// The desired state's own tasks: started, refused or terminated.
void assigned_tasks(const protocol::DesiredState& desired, const NodeAdmission& node,
                    const std::string& leaving, ReconcileDecision& d) {
  for (const auto& a : desired.tasks) {
    d.wanted.insert(a.task_id);
    const bool known = node.final_by_task.count(a.task_id) != 0;
    if (!known && !leaving.empty()) {
      d.actions.push_back({Kind::kNotStarted, a.task_id, "the node is leaving"});
      continue;
    }
    if (!known && node.unusable) {
      d.actions.push_back({Kind::kNotStarted, a.task_id, "the node is unusable"});
      continue;
    }
    if (!known) d.actions.push_back({Kind::kStart, a.task_id, ""});
    if (a.terminate && !is_final(node, a.task_id)) {
      d.actions.push_back({Kind::kTerminate, a.task_id, "terminated by the control plane"});
    } else if (a.job_ended && !is_final(node, a.task_id)) {
      d.actions.push_back({Kind::kRelease, a.task_id, "the job ended on its master node"});
    }
  }
}

}  // namespace

ReconcileDecision decide_reconcile(const protocol::DesiredState& desired, const NodeAdmission& node,
                                   std::set<std::string>& missing_once) {
  ReconcileDecision d;
  if (desired.cluster_config_version &&
      *desired.cluster_config_version > node.cluster_config_version && !node.reconfigure_pending) {
    d.reconfigure = true;
  }
  std::string leaving = node.leaving;
  if (desired.leave && leaving.empty()) {
    leaving = *desired.leave;
    d.leave = leaving;
    // requeue and terminate stop the running tasks (the control plane requeues or fails them);
    // waitforjobcompletion lets them finish. No new task starts either way.
    if (leaving != "waitforjobcompletion") {
      for (const auto& [id, final] : node.final_by_task) {
        if (!final)
          d.actions.push_back({Kind::kTerminate, id, "the node is leaving (" + leaving + ")"});
      }
    }
  }
  assigned_tasks(desired, node, leaving, d);
  for (const auto& id : d.wanted) missing_once.erase(id);
  for (const auto& [id, final] : node.final_by_task) {
    if (d.wanted.count(id) || final) continue;
    if (missing_once.insert(id).second) continue;  // wait for a second desired state to confirm
    d.actions.push_back({Kind::kTerminate, id, "no longer wanted by the control plane"});
  }
  return d;
}

}  // namespace batchai
