// Starting a job on this node, the one way run-job and the daemon both take: a checked job
// document in, a running supervisor out. In order: the plan for this node (the last point at
// which the job can be refused), the node root's lock, leftovers of an agent that died cleaned,
// the job's directories, volumes and container (agent/job/job_site.hpp), the state directory, and
// the supervisor with its plan. Anything that fails or is interrupted after the plan undoes what
// was done.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/job/job_environment.hpp"
#include "agent/job/job_site.hpp"
#include "agent/job/launch_planner.hpp"
#include "agent/job/layout.hpp"
#include "common/diagnostics.hpp"
#include "common/job_error.hpp"
#include "common/unique_fd.hpp"
#include "jobspec/job_spec.hpp"
#include "protocol/messages.hpp"

namespace batchai {

// What the node knows about a job beyond its document.
struct JobStartRequest {
  JobNames names;
  std::string segment;      // the output path segment; "" for the one the names give
  JobEnvironment base_env;  // the node's base environment (JobEnvironment::node_base)
  std::string node_ip = "127.0.0.1";
  std::int64_t start_wall_ms = 0;   // maxWallClockTime counts from here
  SupervisionSettings supervision;  // the agent's cgroup is added as the parent
  SiteSettings site;
  std::string state_dir;
  std::string intro;  // the first line of execution.log
  // A task of a multi-node job: this node's place in the gang (its ssh_dir is filled in here)
  // and the job's SSH identity, written for the job's sshd before the supervisor starts.
  std::optional<GangContext> gang;
  std::optional<protocol::JobSshIdentity> ssh;
  // Asked between steps: 0 goes on; anything else stops the start, which undoes what it did and
  // returns the answer in interrupted_by.
  std::function<int()> interrupted;
};

struct JobStartResult {
  // None: the supervisor runs the job. InvalidJobSpec (the diagnostics say what), NodeBusy,
  // JobSetupFailed, a mount's error code, or JobTerminate when interrupted.
  std::optional<JobError> error;
  int interrupted_by = 0;
  pid_t supervisor = 0;           // a child of this process until it ends
  std::optional<PlannedJob> job;  // once planned
  UniqueFd
      root_lock;  // the node root's lock, until the caller lets go (the supervisor holds it too)
  std::vector<std::string> warnings;  // what cleaning the leftovers could not do
};

// `d` holds the document's diagnostics: errors in it refuse the job before anything is done,
// and the plan adds its own.
JobStartResult start_job(const JobSpec& spec, Diagnostics& d, const JobStartRequest& request);

// The job's container, its volumes, their directories (agent/job/job_site.hpp); warnings.
std::vector<std::string> take_down_started_job(const PlannedJob& job, const SiteSettings& site);

}  // namespace batchai
