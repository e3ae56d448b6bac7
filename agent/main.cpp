// batchai-agent: the node agent's command line.
//   run-job JOB.json   run a job on this machine as a one-node job
//   daemon             the node agent under systemd (docs/daemon.md)
//   check-config       validate /etc/batchai-agent/agent.json
//   status             the node's state, from the running daemon
//   supervise          internal: the per-job supervisor, started by the agent itself
//   wait-for-peers     internal: a multi-node job's launcher, once its nodes answer
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/daemon.hpp"
#include "agent/node/node_status.hpp"
#include "agent/run_job.hpp"
#include "common/fs.hpp"
#include "exec/container_task.hpp"
#include "exec/job_shell.hpp"
#include "exec/peer_wait.hpp"
#include "exec/supervisor_process.hpp"
#include "mount/helper_mount.hpp"

namespace {

// The internal subcommands run through /proc/self/exe (so that a package upgrade cannot swap
// the binary under a re-exec), which makes the kernel call them "exe". A name of their own is
// what ps, top and systemd's "left-over process" lines show (at most 15 characters).
void name_this_process(const char* name) {
  ::prctl(PR_SET_NAME, name, 0, 0, 0);
}

// Exit status: 0 valid; 2 not valid, or not configured. As the unit's ExecCondition=
// (as_condition): 1 when the file names no control plane yet, so that a freshly installed agent
// is skipped rather than failed, and 255 when it is not valid, so that the unit fails and says why.
int check_config(const std::string& path, bool as_condition) {
  batchai::Diagnostics d;
  batchai::DaemonConfig config = batchai::load_daemon_config(path, d);
  for (const auto& w : d.warnings()) {
    std::fprintf(stderr, "%s: warning: %s: %s\n", path.c_str(), w.path.c_str(), w.message.c_str());
  }
  if (!d.has_errors()) {
    std::printf("%s: valid: node %s of cluster %s, control plane %s\n", path.c_str(),
                config.node_id.c_str(), config.cluster.c_str(), config.control_plane_url.c_str());
    return 0;
  }
  bool only_unconfigured = !batchai::config_names_control_plane(path);
  for (const auto& e : d.errors()) only_unconfigured &= e.path == "controlPlaneUrl";
  if (only_unconfigured) {
    std::fprintf(stderr,
                 "%s: not configured: set controlPlaneUrl (the control plane's https:// URL); "
                 "see batchai-agent(8)\n",
                 path.c_str());
    return as_condition ? 1 : 2;
  }
  for (const auto& e : d.errors()) {
    std::fprintf(stderr, "%s: %s%s\n", path.c_str(), e.path.empty() ? "" : (e.path + ": ").c_str(),
                 e.message.c_str());
  }
  return as_condition ? 255 : 2;
}

CLI::App* add_run_job_command(CLI::App& app, batchai::RunJobOptions& run) {
  auto* cmd =
      app.add_subcommand("run-job", "Run a Batch AI job.json on this machine as a one-node job");
  cmd->add_option("job_file", run.job_file, "The job document (job.json)")->required();
  cmd->add_option("--root", run.root, "The node's root for job directories")->capture_default_str();
  cmd->add_option("--name", run.name, "The job's name (default: the file name without .json)");
  cmd->add_option("--state-dir", run.state_dir, "Where the agent keeps job state")
      ->capture_default_str();
  cmd->add_option("-e,--env", run.extra_env,
                  "NAME=VALUE added to the node's base environment (repeatable)");
  cmd->add_option("--grace", run.grace_seconds,
                  "Seconds between SIGTERM and SIGKILL when stopping the job")
      ->capture_default_str();
  cmd->add_option("--docker-socket", run.docker_socket,
                  "The container engine's socket, for jobs with containerSettings")
      ->capture_default_str();
  cmd->add_option("--container-input-root", run.container_input_roots,
                  "A directory outside --root whose input directories container jobs may see "
                  "(read-only; repeatable)");
  cmd->add_option("--storage-config", run.storage_config,
                  "Storage settings (JSON, docs/mounts.md): endpoints, ports, mount drivers");
  return cmd;
}

// What the agent starts of itself, through /proc/self/exe: not listed in --help.
struct InternalCommands {
  CLI::App* supervise = nullptr;
  std::string status_file;
  pid_t parent_pid = 0;
  CLI::App* mount = nullptr;
  batchai::MountRequest mount_request;
  CLI::App* container = nullptr;
  std::string container_socket, container_name, container_workdir;
  std::vector<std::string> container_argv;
  CLI::App* job_shell = nullptr;      // an agent before batchai-job-shell named itself in sshd's
  std::string job_shell_environment;  // ForceCommand: a job it started still runs after an upgrade
  CLI::App* peers = nullptr;
  std::string peer_host_list;
  std::vector<std::string> peer_command;
  std::string peer_ssh;
  std::int64_t peer_timeout_s = 600;
};

void add_internal_commands(CLI::App& app, InternalCommands& c) {
  c.supervise =
      app.add_subcommand("supervise", "Internal: run one job's supervisor (plan on stdin)");
  c.supervise->group("");
  c.supervise->add_option("--status-file", c.status_file)->required();
  c.supervise->add_option("--parent-pid", c.parent_pid)->required();

  c.mount = app.add_subcommand("mount-volume", "Internal: one managed mount through libmount");
  c.mount->group("");
  c.mount->add_option("--source", c.mount_request.source)->required();
  c.mount->add_option("--target", c.mount_request.target)->required();
  c.mount->add_option("--type", c.mount_request.fstype)->required();
  c.mount->add_option("--options", c.mount_request.options);
  c.mount->add_option("--log-file", c.mount_request.log_file);

  c.container =
      app.add_subcommand("container-exec", "Internal: one task of a job, in its container");
  c.container->group("");
  c.container->add_option("--socket", c.container_socket)->required();
  c.container->add_option("--container", c.container_name)->required();
  c.container->add_option("--workdir", c.container_workdir);
  c.container->add_option("command", c.container_argv)->required();

  c.job_shell = app.add_subcommand("job-shell", "Internal: a session of an older job's sshd");
  c.job_shell->group("");
  c.job_shell->add_option("environment", c.job_shell_environment)->required();

  c.peers = app.add_subcommand("wait-for-peers",
                               "Internal: a multi-node job's launcher, once its nodes answer");
  c.peers->group("");
  // One word, so that nothing of the command after "--" is taken for a host.
  c.peers->add_option("--hosts", c.peer_host_list, "ip,ip,...");
  c.peers->add_option("--ssh", c.peer_ssh)->required();
  c.peers->add_option("--timeout", c.peer_timeout_s)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  c.peers->add_option("command", c.peer_command)->required();
}

// Runs the internal command that was asked for; -1 when none was.
int run_internal_command(const InternalCommands& c) {
  if (*c.supervise) {
    name_this_process("batchai-job");
    return batchai::supervise_plan_from_stdin(c.status_file, c.parent_pid);
  }
  if (*c.container) {
    name_this_process("batchai-exec");
    return batchai::run_container_task(c.container_socket, c.container_name, c.container_workdir,
                                       c.container_argv);
  }
  if (*c.job_shell) return batchai::run_job_shell(c.job_shell_environment);
  if (*c.peers) {
    std::vector<std::string> hosts;
    for (std::size_t start = 0; start < c.peer_host_list.size();) {
      std::size_t end = c.peer_host_list.find(',', start);
      if (end == std::string::npos) end = c.peer_host_list.size();
      if (end > start) hosts.push_back(c.peer_host_list.substr(start, end - start));
      start = end + 1;
    }
    return batchai::wait_for_peers_then_exec(c.peer_ssh, hosts, c.peer_timeout_s, c.peer_command);
  }
  if (*c.mount) {
    name_this_process("batchai-mount");
    auto mounted = batchai::mount_here(c.mount_request);
    if (mounted) return 0;
    std::fprintf(stderr, "%s\n", mounted.error().message.c_str());
    return 1;
  }
  return -1;
}

int run(int argc, char** argv) {
  CLI::App app{"batchai-agent: the node agent of a Batch AI-style GPU training cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("batchai-agent ") + BATCHAI_VERSION);

  batchai::RunJobOptions run;
  auto* run_cmd = add_run_job_command(app, run);

  std::string config_path = "/etc/batchai-agent/agent.json";
  auto* daemon_cmd = app.add_subcommand(
      "daemon", "Run the node agent: take work from the control plane and report state");
  daemon_cmd->add_option("--config", config_path, "The agent's configuration (JSON)")
      ->capture_default_str();

  bool check_as_condition = false;
  auto* check_cmd = app.add_subcommand(
      "check-config", "Check the agent's configuration; exit 0 when it is valid, 2 when not");
  check_cmd->add_option("--config", config_path, "The agent's configuration (JSON)")
      ->capture_default_str();
  check_cmd->add_flag("--systemd-condition", check_as_condition,
                      "Exit 1 when no control plane is set yet, 255 when not valid "
                      "(for the unit's ExecCondition=)");

  bool status_json = false;
  auto* status_cmd = app.add_subcommand(
      "status", "Show the node's state, errors, GPUs, mounts and tasks (from the running daemon)");
  status_cmd->add_option("--config", config_path, "The agent's configuration (JSON)")
      ->capture_default_str();
  status_cmd->add_flag("--json", status_json, "Print JSON");

  InternalCommands internal;
  add_internal_commands(app, internal);

  CLI11_PARSE(app, argc, argv);
  if (*run_cmd) return batchai::run_job(run);
  if (*daemon_cmd) return batchai::run_daemon(config_path);
  if (*check_cmd) return check_config(config_path, check_as_condition);
  if (*status_cmd) return batchai::print_node_status(config_path, status_json);
  if (int code = run_internal_command(internal); code >= 0) return code;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Errors are values inside; an exception reaching here is a bug, reported rather than aborting.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batchai-agent: internal error: %s\n", e.what());
    return batchai::kExitAgentError;
  } catch (...) {
    std::fputs("batchai-agent: internal error\n", stderr);
    return batchai::kExitAgentError;
  }
}
