// A job's executionState and executionInfo, derived from its tasks' reported states.
#pragma once

#include <cstdint>

#include "controlplane/model.hpp"
#include "controlplane/store.hpp"

namespace batchai::cp {

// One-node jobs: the job's state is its task's. Gangs (nodeCount > 1): final when every task
// is final (failed if any failed), else running once any task runs or ended, else queued. A
// failed task of a gang terminates the gang's other tasks. A job the user terminates stays
// "terminating" until it is final.
void update_job_state(State& s, JobRecord& job, std::int64_t now, Events& events);

// The job and task of a task id; nullptr when no job of the state has that task.
TaskRecord* find_task(State& s, const std::string& task_id, JobRecord** job);
const TaskRecord* find_task(const State& s, const std::string& task_id, const JobRecord** job);

bool is_final_job_state(const std::string& state);

}  // namespace batchai::cp
