#include "agent/job/job_start.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>

#include "agent/job/job_container.hpp"
#include "agent/job/job_ssh.hpp"
#include "agent/job/shared_job_temp.hpp"
#include "common/fs.hpp"
#include "exec/execution_log.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/job_shell.hpp"
#include "exec/supervisor_process.hpp"
#include "heartbeat/gpu_inventory.hpp"
#include "heartbeat/node_facts.hpp"

namespace batchai {

namespace {

// How long at least a node of a gang waits for its master to serve the shared job temp (else as
// long as the job may run): the master sets up too (volumes, an image pull) before its sshd
// starts, and a master that fails ends the gang through the control plane anyway.
constexpr std::int64_t kSharedJobTempWaitMs = 600LL * 1000;

JobError invalid_job(const Diagnostics& d) {
  JobError e{"InvalidJobSpec", "The job document is not valid on this node", {}};
  for (const auto& p : d.errors())
    e.details.push_back({p.path.empty() ? "job" : p.path, p.message});
  return e;
}

JobError stopped_before_start() {
  return {"JobTerminate", "stopped before the job started", {}};
}

// The request's place in its gang, with where this node keeps the job's SSH files.
GangContext gang_of(const JobStartRequest& r) {
  GangContext gang = *r.gang;
  gang.ssh_dir = StateLayout(r.state_dir).job_ssh(r.names.job_uuid);
  return gang;
}

PlanContext plan_context(const JobStartRequest& r) {
  PlanContext ctx;
  ctx.names = r.names;
  ctx.layout = make_job_layout(r.site.root, r.names);
  if (!r.segment.empty()) ctx.layout.segment = r.segment;
  ctx.base_env = r.base_env;
  ctx.gpu_count = static_cast<int>(read_gpu_inventory().gpus.size());
  ctx.infiniband_devices = infiniband_devices();
  ctx.node_ip = r.node_ip;
  ctx.start_wall_ms = r.start_wall_ms;
  ctx.container_socket = r.site.docker_socket;
  ctx.container_name = job_container_name(
      r.names.job_uuid, r.gang ? std::optional<int>(r.gang->index) : std::nullopt);
  ctx.container_input_roots = r.site.container_input_roots;
  ctx.supervision = r.supervision;
  if (auto cg = own_cgroup_dir()) ctx.supervision.cgroup_parent = *cg;
  if (r.gang) ctx.gang = gang_of(r);
  return ctx;
}

// One job at a time on a node root, as on a Batch AI node; the supervisor keeps the lock.
std::optional<JobError> lock_node_root(const std::string& root, UniqueFd& lock) {
  if (auto s = make_dirs(root, 0755); !s) return JobError{"JobSetupFailed", s.error().message, {}};
  lock.reset(::open(node_root_lock_path(root).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) {
    return JobError{
        "JobSetupFailed", "cannot open the lock of " + root + ": " + errno_text(errno), {}};
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return JobError{"NodeBusy", "another job holds this node's root " + root, {}};
  }
  return std::nullopt;
}

int ask(const std::function<int()>& interrupted) {
  return interrupted ? interrupted() : 0;
}

// A multi-node job's node: its SSH files, and on a node other than the master the master's
// shared job temp, mounted before the node's job preparation.
std::optional<JobError> set_up_gang(const JobStartRequest& request, const PlannedJob& job,
                                    int* interrupted_by) {
  const GangContext gang = gang_of(request);
  if (!request.ssh) {
    return JobError{
        "JobSetupFailed", "the multi-node job's assignment carries no SSH identity", {}};
  }
  // A container job's sshd runs in its image, where the static shell is bound in and its
  // privilege separation directory is a tmpfs; on the node sshd needs the node's.
  const std::string& shell = job.container ? kJobShellInContainer : gang.job_shell_program;
  if (!job.container) {
    if (auto s = make_dirs(kSshdPrivilegeSeparationDir, 0755); !s) {
      return JobError{"JobSetupFailed", "the job's SSH: " + s.error().message, {}};
    }
  }
  if (auto s = write_job_ssh(gang, *request.ssh, job.env.to_envp(true), job.layout.job_temp, shell);
      !s) {
    return JobError{"JobSetupFailed", "the job's SSH: " + s.error().message, {}};
  }
  if (gang.is_master()) return std::nullopt;
  return mount_shared_job_temp(gang, job.layout.shared_job_temp,
                               std::max(kSharedJobTempWaitMs, job.plan.max_wall_clock_ms),
                               request.interrupted, interrupted_by);
}

// The job's container, once everything bound into it is in place: a gang's SSH files and the
// master's shared job temp (a mount made after the container started would not show in it).
std::optional<JobError> start_container(const JobStartRequest& request, const PlannedJob& job) {
  if (!job.container) return std::nullopt;
  const std::string& socket = request.site.docker_socket;
  if (auto e = start_job_container(job, request.site.root, socket)) return e;
  if (request.gang) {
    const JobSshPaths ssh = job_ssh_paths(gang_of(request).ssh_dir);
    if (auto e = check_sshd_in_container(job, socket, ssh.sshd_config)) return e;
  }
  ExecutionLog(job.plan.execution_log, job.layout.root)
      .line("container " + job.container_name + " started from " + job.container->image);
  return std::nullopt;
}

// From the set-up on: the job's directories and volumes, a gang's SSH, the container, then the
// supervisor.
void set_up_and_launch(const JobStartRequest& request, JobStartResult& result) {
  const PlannedJob& job = *result.job;
  if (auto e = set_up_job(job, request.intro, request.site, request.interrupted,
                          &result.interrupted_by)) {
    result.error = result.interrupted_by != 0 ? stopped_before_start() : *e;
    return;
  }
  const StateLayout state(request.state_dir);
  const std::string job_state = state.job_dir(request.names.job_uuid);
  Status state_ok = make_dirs(state.jobs_dir(), 0700);
  if (state_ok) state_ok = make_dirs(job_state, 0700);
  if (!state_ok) {
    result.error = {"JobSetupFailed", state_ok.error().message, {}};
  } else if (auto e =
                 request.gang ? set_up_gang(request, job, &result.interrupted_by) : std::nullopt) {
    result.error = result.interrupted_by != 0 ? stopped_before_start() : *e;
  } else if (int why = ask(request.interrupted); why != 0) {
    result.interrupted_by = why;
    result.error = stopped_before_start();
  } else if (auto failed = start_container(request, job)) {
    result.error = std::move(failed);
  } else {
    auto pid = start_supervisor(StateLayout::supervisor_files(job_state), job.plan,
                                result.root_lock.get());
    if (pid) {
      result.supervisor = *pid;
      return;
    }
    result.error = {"JobSetupFailed", "cannot start the supervisor: " + pid.error().message, {}};
  }
  ExecutionLog(job.plan.execution_log, job.layout.root)
      .line(result.error->code + ": " + result.error->message);
  for (auto& w : take_down_started_job(job, request.site)) result.warnings.push_back(std::move(w));
  if (request.gang) {
    for (auto& w : remove_job_ssh(gang_of(request).ssh_dir)) {
      result.warnings.push_back(std::move(w));
    }
  }
}

}  // namespace

std::vector<std::string> take_down_started_job(const PlannedJob& job, const SiteSettings& site) {
  return take_down_job(job.layout, site, job.container ? job.job_uuid : "");
}

JobStartResult start_job(const JobSpec& spec, Diagnostics& d, const JobStartRequest& request) {
  JobStartResult result;
  // A start queued behind another step may find the job terminated or the agent stopping.
  if (int why = ask(request.interrupted); why != 0) {
    result.interrupted_by = why;
    result.error = stopped_before_start();
    return result;
  }
  if (!d.has_errors()) result.job = plan_job(spec, plan_context(request), d);
  if (!result.job) {
    result.error = invalid_job(d);
    return result;
  }
  if (auto e = lock_node_root(request.site.root, result.root_lock)) {
    result.error = std::move(e);
    return result;
  }
  // No job runs on this root now (the lock is held by every start and supervisor while a job
  // runs): job-level mounts and temp files found are an earlier job's that nobody took down.
  result.warnings = clean_leftovers(result.job->layout, request.site);
  set_up_and_launch(request, result);
  return result;
}

}  // namespace batchai
