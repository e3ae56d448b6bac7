#include "controlplane/job_state.hpp"

#include <algorithm>

#include "controlplane/names.hpp"
#include "controlplane/nodes.hpp"

namespace batchai::cp {

namespace {

bool final_state(const std::string& s) {
  return protocol::is_final_task_state(s);
}

std::string aggregate_state(const JobRecord& job) {
  bool all_final = true, any_failed = false, any_started = false;
  for (const auto& t : job.tasks) {
    all_final = all_final && final_state(t.state);
    any_failed = any_failed || t.state == "failed";
    any_started = any_started || t.state != "queued";
  }
  if (all_final) return any_failed ? "failed" : "succeeded";
  if (job.terminate || (any_failed && job.tasks.size() > 1)) return "terminating";
  if (job.tasks.size() == 1) return job.tasks[0].state;
  return any_started ? "running" : "queued";
}

// The gang's execution info: the earliest start, the latest end once all ended, the master's
// (task 0's) exit code, and every task's errors.
protocol::ExecutionInfo aggregate_info(const JobRecord& job) {
  if (job.tasks.size() == 1) return job.tasks[0].info;
  protocol::ExecutionInfo info;
  bool all_final = true;
  for (const auto& t : job.tasks) {
    all_final = all_final && final_state(t.state);
    if (t.info.start_time && (!info.start_time || *t.info.start_time < *info.start_time)) {
      info.start_time = t.info.start_time;
    }
    if (t.info.end_time && (!info.end_time || *t.info.end_time > *info.end_time)) {
      info.end_time = t.info.end_time;
    }
    info.errors.insert(info.errors.end(), t.info.errors.begin(), t.info.errors.end());
  }
  if (!all_final) info.end_time.reset();
  if (all_final && !job.tasks.empty()) info.exit_code = job.tasks[0].info.exit_code;
  return info;
}

}  // namespace

bool is_final_job_state(const std::string& state) {
  return final_state(state);
}

void update_job_state(State& s, JobRecord& job, std::int64_t now, Events& events) {
  if (job.tasks.empty()) return;
  const bool any_reported =
      std::any_of(job.tasks.begin(), job.tasks.end(), [](const auto& t) { return t.reported; });
  if (any_reported) job.info = aggregate_info(job);
  // A failed task ends its gang: the others are terminated.
  const bool any_failed = std::any_of(job.tasks.begin(), job.tasks.end(),
                                      [](const auto& t) { return t.state == "failed"; });
  if (any_failed && job.tasks.size() > 1) {
    for (auto& t : job.tasks) {
      if (final_state(t.state) || t.terminate) continue;
      t.terminate = true;
      auto node = s.nodes.find(t.node_id);
      if (node != s.nodes.end()) bump(node->second);
      events.push_back("task " + t.task_id + ": terminating, another task of its job failed");
    }
  }
  std::string next = aggregate_state(job);
  if (next == job.state) return;
  events.push_back("job " + job_key(job.workspace, job.experiment, job.name) + ": " + job.state +
                   " -> " + next);
  job.state = next;
  job.state_ms = now;
}

TaskRecord* find_task(State& s, const std::string& task_id, JobRecord** job) {
  auto ref = parse_task_id(task_id);
  if (!ref) return nullptr;
  auto it = s.jobs.find(ref->job_key);
  if (it == s.jobs.end() || it->second.uuid != ref->uuid) return nullptr;
  if (ref->index >= static_cast<int>(it->second.tasks.size())) return nullptr;
  *job = &it->second;
  return &it->second.tasks[static_cast<std::size_t>(ref->index)];
}

const TaskRecord* find_task(const State& s, const std::string& task_id, const JobRecord** job) {
  JobRecord* j = nullptr;
  const TaskRecord* t = find_task(const_cast<State&>(s), task_id, &j);
  *job = j;
  return t;
}

}  // namespace batchai::cp
