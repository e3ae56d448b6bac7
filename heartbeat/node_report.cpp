#include "heartbeat/node_report.hpp"

namespace batchai {

NodeStateDecision decide_node_state(const NodeCondition& c,
                                    const std::vector<protocol::TaskReport>& tasks) {
  bool busy = false;
  std::vector<JobError> stuck;
  for (const auto& t : tasks) {
    if (protocol::is_final_task_state(t.state)) continue;
    busy = true;
    for (const auto& e : t.execution_info.errors) {
      if (e.code == "ProcessesNotKilled") {
        stuck.push_back({"JobProcessesNotKilled",
                         "task " + t.task_id + ": " + e.message,
                         {{"taskId", t.task_id}}});
      }
    }
  }
  NodeStateDecision d;
  d.state = c.preparing ? "preparing" : busy ? "running" : "idle";
  if (c.leaving) d.state = "leaving";
  if (!c.setup_errors.empty() || !c.gpu_errors.empty() || !stuck.empty()) {
    d.state = "unusable";
    d.errors = c.setup_errors;
    d.errors.insert(d.errors.end(), c.gpu_errors.begin(), c.gpu_errors.end());
    d.errors.insert(d.errors.end(), stuck.begin(), stuck.end());
  }
  return d;
}

protocol::NodeReport assemble_node_report(const std::string& boot_id, const NodeCondition& c,
                                          std::vector<protocol::TaskReport> tasks) {
  protocol::NodeReport report;
  report.boot_id = boot_id;
  NodeStateDecision d = decide_node_state(c, tasks);
  report.node_state = std::move(d.state);
  report.errors = std::move(d.errors);
  report.tasks = std::move(tasks);
  return report;
}

}  // namespace batchai
