#include "agent/daemon/node_tasks.hpp"

#include <spdlog/spdlog.h>

#include "agent/daemon/daemon_log.hpp"

namespace batchai {

void NodeTasks::recover() {
  for (auto& t : NodeTask::recover(cfg_)) {
    JobLogFields fields(t.task_id(), t.job_name(), t.job_uuid());
    spdlog::info("task {}: found again after a restart", t.task_id());
    tasks_.emplace(t.task_id(), std::move(t));
  }
}

std::map<std::string, bool> NodeTasks::final_by_task() {
  std::map<std::string, bool> out;
  for (auto& [id, task] : tasks_) out[id] = task.is_final();
  return out;
}

void NodeTasks::apply(const ReconcileDecision& decision, const protocol::DesiredState& desired,
                      SerialWorker& worker) {
  std::map<std::string, const protocol::TaskAssignment*> assigned;
  for (const auto& a : desired.tasks) assigned[a.task_id] = &a;
  for (const auto& action : decision.actions) {
    const protocol::TaskAssignment* a =
        assigned.count(action.task_id) ? assigned[action.task_id] : nullptr;
    auto it = tasks_.find(action.task_id);
    JobLogFields fields(action.task_id,
                        a                    ? a->job_name
                        : it != tasks_.end() ? it->second.job_name()
                                             : "",
                        it != tasks_.end() ? it->second.job_uuid() : "");
    switch (action.kind) {
      case TaskAction::Kind::kNotStarted:
        spdlog::warn("task {} (job {}): not started, {}", action.task_id, a ? a->job_name : "",
                     action.why);
        break;
      case TaskAction::Kind::kStart:
        if (a == nullptr) break;  // reconcile starts only what the desired state assigns
        spdlog::info("task {} (job {}): setting up", a->task_id, a->job_name);
        tasks_.emplace(a->task_id, NodeTask::accept(*a, cfg_, worker, stopping_));
        break;
      case TaskAction::Kind::kTerminate:
        if (it == tasks_.end()) break;
        spdlog::info("task {}: {}; terminating", action.task_id, action.why);
        it->second.terminate();
        break;
      case TaskAction::Kind::kRelease:
        if (it == tasks_.end()) break;
        spdlog::info("task {}: {}; ending this node's part", action.task_id, action.why);
        it->second.release();
        break;
    }
  }
  wanted_ = decision.wanted;
  have_desired_ = true;
}

std::vector<protocol::TaskReport> NodeTasks::reports() {
  std::vector<protocol::TaskReport> out;
  for (auto& [id, task] : tasks_) out.push_back(task.report());
  return out;
}

// A job is taken down (on the worker) as soon as its task is final, as the last report found it:
// the control plane assigns the node's next job only once a report has told it so.
void NodeTasks::take_down_finished(SerialWorker& worker) {
  for (auto& [id, task] : tasks_) {
    if (task.take_down_due()) task.take_down(worker, stopping_);
  }
}

void NodeTasks::release_finished() {
  if (!have_desired_) return;  // after a restart, until the control plane has said
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    NodeTask& task = it->second;
    if (wanted_.count(it->first) || !task.done()) {  // done: final, and taken down
      ++it;
      continue;
    }
    JobLogFields fields(it->first, task.job_name(), task.job_uuid());
    task.forget();
    spdlog::info("task {}: done", it->first);
    it = tasks_.erase(it);
  }
}

void NodeTasks::settle_at_stop() {
  for (auto& [id, task] : tasks_) {
    JobLogFields fields(id, task.job_name(), task.job_uuid());
    if (task.abandon_if_interrupted()) {
      spdlog::info("task {}: set-up interrupted by the stop; the next agent sets it up again", id);
    }
  }
}

}  // namespace batchai
