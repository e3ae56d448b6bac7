// A task the control plane assigned, started through the job-start pipeline
// (agent/job/job_start.hpp) with what the assignment and the agent's configuration say about the
// node. The daemon runs it on its worker thread (agent/daemon/serial_worker.hpp); NodeTask keeps
// the task's record.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/daemon_config.hpp"
#include "agent/job/layout.hpp"
#include "common/job_error.hpp"
#include "protocol/messages.hpp"

namespace batchai {

// Why a start (or a take-down) stopped early: the answers of its `interrupted` callback.
constexpr int kStoppedByTerminate = 1;  // the control plane terminated the task
constexpr int kStoppedByAgentStop = 2;  // the agent stops; the next agent sets the task up again

struct TaskStartResult {
  std::optional<JobError> error;      // none: the supervisor runs the job
  int interrupted_by = 0;             // kStoppedBy*, when `interrupted` stopped it (error says so)
  pid_t supervisor = 0;               // a child of this process until it ends
  std::vector<std::string> warnings;  // for the agent's log
};

// `interrupted` is asked between steps (0: go on); a set-up that stops or fails undoes what it
// did. Never throws.
TaskStartResult start_assigned_task(const protocol::TaskAssignment& assignment,
                                    const DaemonConfig& config, const JobNames& names,
                                    std::int64_t accepted_ms,
                                    const std::function<int()>& interrupted);

}  // namespace batchai
