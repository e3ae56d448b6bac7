#include "agent/daemon/task_start.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent/job/job_container.hpp"
#include "agent/job/job_site.hpp"
#include "agent/job/launch_planner.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/supervisor_process.hpp"
#include "heartbeat/gpu_inventory.hpp"
#include "jobspec/job_parser.hpp"
#include "jobspec/rules.hpp"

namespace batchai {

namespace {

TaskStartResult failed(JobError e) {
  return {std::move(e), 0, 0};
}

TaskStartResult stopped(int why) {
  return {JobError{"JobTerminate",
                   why == kStoppedByTerminate ? "terminated before the job started"
                                              : "the agent stopped before the job started",
                   {}},
          why, 0};
}

}  // namespace

TaskStartResult start_assigned_task(const protocol::TaskAssignment& a, const DaemonConfig& config,
                                    const JobNames& names, std::int64_t accepted_ms,
                                    const std::function<int()>& interrupted) {
  // A set-up queued behind another step may find the task terminated or the agent stopping.
  if (int why = interrupted ? interrupted() : 0; why != 0) return stopped(why);
  ParsedJob parsed = parse_job_document(a.job.dump());
  Diagnostics& d = parsed.diagnostics;
  for (const auto& name : {a.workspace, a.experiment, a.job_name}) {
    if (auto why = check_resource_name(name); !why.empty()) d.error("assignment", why);
  }
  PlanContext ctx;
  ctx.names = names;
  // The segment comes from the control plane: <sub>/<rg>/workspaces/<ws>/experiments/...
  const std::string& seg = a.output_segment;
  ctx.layout = make_job_layout(config.root, names);
  if (!seg.empty() && seg.find("..") == std::string::npos && seg.front() != '/') {
    ctx.layout.segment = seg;
  }
  ctx.base_env = JobEnvironment::node_base();
  for (const auto& [name, value] : config.environment) ctx.base_env.set(name, value);
  ctx.gpu_count = static_cast<int>(read_gpu_inventory().gpus.size());
  ctx.node_ip = a.hosts.empty() ? "127.0.0.1"
                                : a.hosts[std::min<std::size_t>(a.task_index, a.hosts.size() - 1)];
  ctx.start_wall_ms = accepted_ms;
  ctx.container_socket = config.docker_socket;
  ctx.container_name = job_container_name(names.job_uuid);
  std::optional<PlannedJob> planned;
  if (!d.has_errors()) planned = plan_job(parsed.spec, ctx, d);
  if (!planned) {
    JobError e{"InvalidJobSpec", "The job document is not valid on this node", {}};
    for (const auto& p : d.errors())
      e.details.push_back({p.path.empty() ? "job" : p.path, p.message});
    return failed(std::move(e));
  }
  PlannedJob& job = *planned;
  job.plan.grace_ms = static_cast<std::int64_t>(config.kill_grace_seconds) * 1000;
  job.plan.unkillable_after_ms = static_cast<std::int64_t>(config.unkillable_seconds) * 1000;
  job.plan.end_with_parent = false;  // the job outlives the agent
  if (auto cg = own_cgroup_dir()) job.plan.cgroup_parent = *cg;

  // The node root's lock, as run-job takes it: one job at a time; the supervisor keeps it.
  if (auto s = make_dirs(config.root, 0755); !s)
    return failed({"JobSetupFailed", s.error().message, {}});
  UniqueFd lock(
      ::open(node_root_lock_path(config.root).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) {
    return failed({"JobSetupFailed",
                   "cannot open the lock of " + config.root + ": " + errno_text(errno),
                   {}});
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return failed({"NodeBusy", "another job holds this node's root " + config.root, {}});
  }
  const SiteSettings site{config.root, config.storage, config.docker_socket};
  clean_leftovers(job.layout, site);
  int interrupted_by = 0;
  if (auto e = set_up_job(job,
                          "job " + a.job_name + " (" + names.job_uuid + ") task " +
                              std::to_string(a.task_index) + " accepted by the agent",
                          site, interrupted, &interrupted_by)) {
    return interrupted_by != 0 ? stopped(interrupted_by) : failed(*e);
  }
  const std::string container = job.container ? job.container_name : "";
  if (int why = interrupted ? interrupted() : 0; why != 0) {
    take_down_job(job.layout, site, container);
    return stopped(why);
  }
  auto pid = start_supervisor(
      StateLayout::supervisor_files(StateLayout(config.state_dir).job_dir(names.job_uuid)),
      job.plan, lock.get());
  if (!pid) {
    take_down_job(job.layout, site, container);
    return failed({"JobSetupFailed", "cannot start the supervisor: " + pid.error().message, {}});
  }
  return {std::nullopt, 0, *pid};
}

}  // namespace batchai
