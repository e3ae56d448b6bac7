#include "controlplane/job_state.hpp"

#include <algorithm>

#include "controlplane/names.hpp"
#include "controlplane/nodes.hpp"

namespace batchai::cp {

namespace {

bool final_state(const std::string& s) {
  return protocol::is_final_task_state(s);
}

// A task that failed while the job was still its own to fail. A released one (the master had
// ended the job) counts only with a failure of its own, not with the stop the release was.
bool failed(const TaskRecord& t) {
  if (t.state != "failed") return false;
  if (!t.released) return true;
  return std::any_of(t.info.errors.begin(), t.info.errors.end(),
                     [](const auto& e) { return e.code != "JobTerminate"; });
}

std::string aggregate_state(const JobRecord& job) {
  bool all_final = true, any_failed = false, any_started = false;
  for (const auto& t : job.tasks) {
    all_final = all_final && final_state(t.state);
    any_failed = any_failed || failed(t);
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
    if (t.released && !failed(t)) continue;  // its end is the master's, no error of the job's
    for (const auto& e : t.info.errors) {
      // A node stopped because another failed says so: that is the other's failure, told once.
      const bool consequence = e.code == "JobTerminate" && t.terminate && !job.terminate;
      const bool told = std::any_of(info.errors.begin(), info.errors.end(), [&](const auto& o) {
        return o.code == e.code && o.message == e.message;
      });
      if (!consequence && !told) info.errors.push_back(e);
    }
  }
  if (!all_final) info.end_time.reset();
  if (all_final && !job.tasks.empty()) info.exit_code = job.tasks[0].info.exit_code;
  return info;
}

// The master's end is the job's end: the other nodes end their parts, which is no failure.
void release_gang(State& s, JobRecord& job, bool any_failed, Events& events) {
  if (job.tasks.size() < 2 || any_failed || !final_state(job.tasks[0].state)) return;
  for (auto& t : job.tasks) {
    if (t.index == 0 || final_state(t.state) || t.released) continue;
    t.released = true;
    auto node = s.nodes.find(t.node_id);
    if (node != s.nodes.end()) bump(node->second);
    events.push_back("task " + t.task_id + ": released, the job ended on its master node");
  }
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
  const bool any_failed = std::any_of(job.tasks.begin(), job.tasks.end(), failed);
  release_gang(s, job, any_failed, events);
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
  // The job's SSH identity is needed no more once every node is done with it.
  if (is_final_job_state(next)) {
    job.ssh.reset();
    job.requeue = false;  // it ended otherwise (a terminate, a lost node)
  }
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
