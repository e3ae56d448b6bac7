#include "agent/daemon/task_start.hpp"

#include <unistd.h>

#include "agent/job/helper_programs.hpp"
#include "agent/job/job_start.hpp"
#include "heartbeat/node_facts.hpp"
#include "jobspec/job_parser.hpp"
#include "jobspec/rules.hpp"

namespace batchai {

TaskStartResult start_assigned_task(const protocol::TaskAssignment& a, const DaemonConfig& config,
                                    const JobNames& names, std::int64_t accepted_ms,
                                    const std::function<int()>& interrupted) {
  ParsedJob parsed = parse_job_json(a.job);
  Diagnostics& d = parsed.diagnostics;
  for (const auto& name : {a.workspace, a.experiment, a.job_name}) {
    if (auto why = check_resource_name(name); !why.empty()) d.error("assignment", why);
  }
  JobStartRequest request;
  request.names = names;
  // The segment comes from the control plane: <sub>/<rg>/workspaces/<ws>/experiments/...
  const std::string& seg = a.output_segment;
  if (!seg.empty() && seg.find("..") == std::string::npos && seg.front() != '/') {
    request.segment = seg;
  }
  request.base_env = JobEnvironment::node_base(config.environment);
  request.node_ip = a.hosts.empty()
                        ? "127.0.0.1"
                        : a.hosts[std::min<std::size_t>(a.task_index, a.hosts.size() - 1)];
  request.start_wall_ms = accepted_ms;
  request.supervision.grace_ms = static_cast<std::int64_t>(config.kill_grace_seconds) * 1000;
  request.supervision.unkillable_after_ms =
      static_cast<std::int64_t>(config.unkillable_seconds) * 1000;
  request.supervision.end_with_parent = false;  // the job outlives the agent
  request.site = {config.root, config.storage, config.docker_socket, config.container_input_roots};
  request.state_dir = config.state_dir;
  if (parsed.spec.node_count > 1 || a.hosts.size() > 1) {
    GangContext gang;
    gang.hosts = a.hosts;
    gang.index = a.task_index;
    gang.node_id = config.node_id.empty() ? "node-" + std::to_string(a.task_index) : config.node_id;
    gang.ssh_port = config.job_ssh_port;
    gang.agent_program = agent_program();
    gang.job_shell_program = helper_program("batchai-job-shell");
    // A gang whose hosts do not fit the document is refused by the planner, naming nodeCount.
    if (static_cast<std::size_t>(a.task_index) < a.hosts.size()) {
      gang.interface = interface_with_address(gang.node_ip());
    }
    request.gang = std::move(gang);
    request.ssh = a.ssh;
  }
  request.intro = "job " + a.job_name + " (" + names.job_uuid + ") task " +
                  std::to_string(a.task_index) + " accepted by the agent";
  request.interrupted = interrupted;
  JobStartResult started = start_job(parsed.spec, d, request);
  if (started.interrupted_by != 0) {
    started.error->message = started.interrupted_by == kStoppedByTerminate
                                 ? "terminated before the job started"
                                 : "the agent stopped before the job started";
  }
  return {std::move(started.error), started.interrupted_by, started.supervisor,
          std::move(started.warnings)};
}

}  // namespace batchai
