// The job's state as its supervisor records it in status.json, rewritten atomically on every
// change. The agent reads it to report the job, also after the agent itself restarted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/job_error.hpp"
#include "common/result.hpp"

namespace batchai {

enum class JobState { kRunning, kTerminating, kSucceeded, kFailed };
std::string to_string(JobState s);

struct TaskResult {
  std::string name;
  pid_t pid = 0;
  std::optional<int> exit_code;  // 128 + signal when killed by a signal
  std::int64_t start_ms = 0;     // when it started (wall clock); 0 when it never did
};

struct JobStatus {
  JobState state = JobState::kRunning;
  std::string step;              // the step running or the last one run
  std::optional<int> exit_code;  // the job's exit code; none when terminated or never ran
  std::vector<JobError> errors;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  pid_t supervisor_pid = 0;
  std::uint64_t supervisor_start_ticks = 0;  // with boot_id, tells a reused pid apart
  std::string boot_id;
  std::string cgroup;  // the job's cgroup directory, "" when none
  std::vector<TaskResult> tasks;
};

std::string status_to_json(const JobStatus& status);
Result<JobStatus> status_from_json(const std::string& text);
Status write_status(const std::string& path, const JobStatus& status);
Result<JobStatus> read_status(const std::string& path);

}  // namespace batchai
