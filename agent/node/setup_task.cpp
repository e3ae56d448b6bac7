#include "agent/node/setup_task.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/job/job_environment.hpp"
#include "agent/job/launch_planner.hpp"
#include "agent/job/layout.hpp"
#include "common/beneath.hpp"
#include "common/fs.hpp"
#include "exec/job_status.hpp"
#include "exec/supervisor_process.hpp"
#include "jobspec/expand.hpp"
#include "jobspec/rules.hpp"

namespace batchai {

namespace {

using nlohmann::json;

// The end of the task's stderr, for the node's error. The file is in a share anyone may write:
// it is opened beneath the root, never through a link, never a FIFO (it would block the agent).
std::string tail_of(const std::string& root, const std::string& path, std::size_t size) {
  auto fd = open_below(root, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  struct stat st {};
  if (!fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  const off_t from =
      st.st_size > static_cast<off_t>(size) ? st.st_size - static_cast<off_t>(size) : 0;
  std::string t(static_cast<std::size_t>(st.st_size - from), '\0');
  const ssize_t n = ::pread(fd->get(), t.data(), t.size(), from);
  t.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (from > 0) t = "..." + t;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

bool succeeded_already(const std::string& record, const std::string& boot_id,
                       const std::string& config_id) {
  auto text = read_file(record, 65536);
  if (!text) return false;
  try {
    auto j = json::parse(*text);
    return j.value("bootId", "") == boot_id && j.value("config", "") == config_id &&
           j.value("exitCode", -1) == 0;
  } catch (const json::exception&) {
    return false;
  }
}

// <stdOutErrPathPrefix>/<stdOutErrPathSuffix>, expanded: it must lie below the node root.
Result<std::string> output_dir(const SetupTaskSpec& task, const JobEnvironment& env,
                               const std::string& root) {
  auto dir = expand_vars(task.std_out_err_path_prefix, env.lookup(false));
  if (!dir) return dir.error();
  if (auto why = check_absolute_path(*dir); !why.empty()) return err(why);
  if (auto why = check_relative_path(task.std_out_err_path_suffix); !why.empty()) {
    return err("stdOutErrPathSuffix " + why);
  }
  const std::string out_dir = join_path(*dir, task.std_out_err_path_suffix);
  if (!path_below(root, out_dir)) {
    return err(quote_value(out_dir) + " is outside the node's root " + root +
               ": the setup task writes below $AZ_BATCHAI_MOUNT_ROOT");
  }
  return out_dir;
}

// Waits for the supervisor to end; false when the agent's stop ended it first (the agent stops:
// so does the setup task, and the next agent runs it again).
bool wait_for_supervisor(pid_t pid, const std::atomic<bool>& stop,
                         const std::function<void()>& while_waiting) {
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, WNOHANG) == 0) {
    if (stop) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, &wait_status, 0);
      return false;
    }
    while_waiting();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

}  // namespace

SetupTaskResult run_setup_task(const SetupTaskSpec& task, const DaemonConfig& config,
                               const std::string& boot_id, const std::atomic<bool>& stop,
                               const std::function<void()>& while_waiting) {
  SetupTaskResult result;
  JobEnvironment env = JobEnvironment::node_base(config.environment);
  env.set("AZ_BATCHAI_MOUNT_ROOT", cluster_mount_root(config.root));
  for (const auto& v : task.environment_variables) env.set(v.name, v.value);
  for (const auto& v : task.secrets) env.set(v.name, v.value, true);
  // Once per boot and configuration.
  const StateLayout state(config.state_dir);
  const std::string record = state.setup_record();
  if (succeeded_already(record, boot_id, task.config_id)) {
    result.log.push_back("the setup task already succeeded in this boot; not run again");
    return result;
  }
  auto out_dir = output_dir(task, env, config.root);
  if (!out_dir) {
    JobError e{"InvalidNodeSetup", "the cluster's nodeSetup.setupTask is not valid", {}};
    e.details.push_back({"nodeSetup.setupTask.stdOutErrPathPrefix", out_dir.error().message});
    result.errors.push_back(std::move(e));
    return result;
  }
  const std::string node = config.node_id;
  const std::string job_state = state.setup_dir(task.config_id);
  for (const auto& path : {*out_dir, job_state}) {
    Status s = path == job_state ? make_dirs(path, 0700) : make_dirs_below(config.root, path, 0755);
    if (!s) {
      result.errors.push_back({"SetupTaskFailed", s.error().message, {}});
      return result;
    }
  }
  ShellCommandPlan request;
  request.id = "setup-" + task.config_id;
  request.name = "setup task";
  request.step = "setupTask";
  request.failure_code = "SetupTaskFailed";
  request.task = "setup";
  request.command_line = task.command_line;
  request.env = std::move(env);
  request.cwd = job_state;  // local and root-only: a share is no place to start root in
  request.stdout_path = join_path(*out_dir, "stdout-" + node + ".txt");
  request.stderr_path = join_path(*out_dir, "stderr-" + node + ".txt");
  request.execution_log = join_path(*out_dir, "execution-" + node + ".log");
  request.files_root = config.root;
  request.supervision.grace_ms = static_cast<std::int64_t>(config.kill_grace_seconds) * 1000;
  request.supervision.end_with_parent = true;  // a setup task outliving its agent would run twice
  const LaunchPlan plan = plan_shell_command(request);
  result.log.push_back("setup task: running, output in " + *out_dir);
  const SupervisorFiles files = StateLayout::supervisor_files(job_state);
  auto pid = start_supervisor(files, plan);
  if (!pid) {
    result.errors.push_back({"SetupTaskFailed", "cannot start: " + pid.error().message, {}});
    return result;
  }
  if (!wait_for_supervisor(*pid, stop, while_waiting)) {
    result.errors.push_back({"SetupTaskFailed", "stopped with the agent", {}});
    return result;
  }
  auto status = read_status(files.status);
  const int code = status && status->exit_code ? *status->exit_code : -1;
  (void)write_file_atomic(
      record,
      json{{"bootId", boot_id}, {"config", task.config_id}, {"exitCode", code}}.dump() + "\n",
      0600);
  if (code == 0) {
    result.log.push_back("setup task: succeeded");
    return result;
  }
  std::string why = status ? (status->errors.empty() ? "failed" : status->errors[0].message)
                           : "its supervisor left no status: " + status.error().message;
  result.errors.push_back(
      {"SetupTaskFailed",
       "the setup task " + (code >= 0 ? "exited with code " + std::to_string(code) : why) +
           "; its stderr ends with: " + tail_of(config.root, request.stderr_path, 1000),
       {{"stdout", request.stdout_path},
        {"stderr", request.stderr_path},
        {"executionLog", request.execution_log}}});
  return result;
}

}  // namespace batchai
