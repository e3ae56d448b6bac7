#include "agent/node/setup_task.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "agent/job/job_environment.hpp"
#include "agent/job/launch_planner.hpp"
#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/json_reader.hpp"
#include "exec/supervisor_process.hpp"
#include "jobspec/expand.hpp"

namespace batchai {

namespace {

using nlohmann::json;

std::string tail_of(const std::string& path, std::size_t size) {
  auto text = read_file(path, 1 << 20);
  if (!text) return "";
  std::string t = text->size() > size ? "..." + text->substr(text->size() - size) : *text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

JobError invalid(const Diagnostics& d) {
  JobError e{"InvalidNodeSetup", "the cluster's nodeSetup.setupTask is not valid", {}};
  for (const auto& p : d.errors()) e.details.push_back({p.path, p.message});
  return e;
}

}  // namespace

SetupTaskResult run_setup_task(const json& node_setup, const DaemonConfig& config,
                               const std::string& boot_id, const std::atomic<bool>& stop,
                               const std::function<void()>& while_waiting) {
  SetupTaskResult result;
  if (!node_setup.is_object() || !node_setup.contains("setupTask") ||
      node_setup["setupTask"].is_null()) {
    return result;
  }
  Diagnostics d;
  const json& task = node_setup["setupTask"];
  if (!task.is_object()) {
    d.error("nodeSetup.setupTask", "must be an object");
    result.errors.push_back(invalid(d));
    return result;
  }
  JsonReader r(task, "nodeSetup.setupTask", d);
  const std::string command = r.nonempty_string("commandLine", true).value_or("");
  const std::string prefix = r.nonempty_string("stdOutErrPathPrefix", true).value_or("");
  const std::string suffix = r.string("stdOutErrPathSuffix").value_or("setup");
  JobEnvironment env = JobEnvironment::node_base();
  for (const auto& [name, value] : config.environment) env.set(name, value);
  const std::string mount_root = cluster_mount_root(config.root);
  env.set("AZ_BATCHAI_MOUNT_ROOT", mount_root);
  for (const char* list : {"environmentVariables", "secrets"}) {
    const json* items = r.array(list);
    if (items == nullptr) continue;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string at = r.path_of(list) + "[" + std::to_string(i) + "]";
      if (!(*items)[i].is_object()) {
        d.error(at, "must be an object");
        continue;
      }
      JsonReader ir((*items)[i], at, d);
      auto name = ir.nonempty_string("name", true);
      auto value = ir.string("value", true);
      ir.warn_unknown();
      if (name && value) env.set(*name, *value, std::string(list) == "secrets");
    }
  }
  r.warn_unknown();
  if (d.has_errors()) {
    result.errors.push_back(invalid(d));
    return result;
  }
  // Once per boot and configuration.
  const std::string config_id = fnv1a_hex(task.dump());
  const StateLayout state(config.state_dir);
  const std::string record = state.setup_record();
  if (auto text = read_file(record, 65536)) {
    try {
      auto j = json::parse(*text);
      if (j.value("bootId", "") == boot_id && j.value("config", "") == config_id &&
          j.value("exitCode", -1) == 0) {
        result.log.push_back("the setup task already succeeded in this boot; not run again");
        return result;
      }
    } catch (const json::exception&) {
    }
  }
  auto dir = expand_vars(prefix, env.lookup(false));
  if (!dir || !dir->starts_with("/")) {
    d.error("nodeSetup.setupTask.stdOutErrPathPrefix",
            dir ? "must expand to an absolute path" : dir.error().message);
    result.errors.push_back(invalid(d));
    return result;
  }
  const std::string out_dir = join_path(*dir, suffix);
  const std::string node = config.node_id;
  const std::string job_state = state.setup_dir(config_id);
  const SupervisorFiles files = StateLayout::supervisor_files(job_state);
  for (const auto& path : {out_dir, job_state}) {
    if (auto s = make_dirs(path, path == job_state ? 0700 : 0755); !s) {
      result.errors.push_back({"SetupTaskFailed", s.error().message, {}});
      return result;
    }
  }
  auto bash = find_program("bash", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  LaunchPlan plan;
  plan.job_id = "setup-" + config_id;
  plan.job_name = "setup task";
  plan.execution_log = join_path(out_dir, "execution-" + node + ".log");
  plan.end_with_parent = true;  // a setup task outliving its agent would run twice
  plan.grace_ms = static_cast<std::int64_t>(config.kill_grace_seconds) * 1000;
  TaskSpec t;
  t.name = "setup";
  t.argv = {bash.value_or("/bin/bash"), "-c", command};
  t.env = env.to_envp(true);
  t.cwd = out_dir;
  t.stdout_path = join_path(out_dir, "stdout-" + node + ".txt");
  t.stderr_path = join_path(out_dir, "stderr-" + node + ".txt");
  plan.steps.push_back({"setupTask", "SetupTaskFailed", {t}});
  result.log.push_back("setup task: running, output in " + out_dir);
  auto pid = start_supervisor(files, plan);
  if (!pid) {
    result.errors.push_back({"SetupTaskFailed", "cannot start: " + pid.error().message, {}});
    return result;
  }
  int wait_status = 0;
  while (::waitpid(*pid, &wait_status, WNOHANG) == 0) {
    if (stop) {
      ::kill(*pid, SIGTERM);  // the agent stops: so does the setup task; the next agent reruns it
      ::waitpid(*pid, &wait_status, 0);
      result.errors.push_back({"SetupTaskFailed", "stopped with the agent", {}});
      return result;
    }
    while_waiting();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto status = read_status(files.status);
  const int code = status && status->exit_code ? *status->exit_code : -1;
  (void)write_file_atomic(
      record, json{{"bootId", boot_id}, {"config", config_id}, {"exitCode", code}}.dump() + "\n",
      0600);
  if (code == 0) {
    result.log.push_back("setup task: succeeded");
    return result;
  }
  std::string why = status ? (status->errors.empty() ? "failed" : status->errors[0].message)
                           : "its supervisor left no status: " + status.error().message;
  result.errors.push_back({"SetupTaskFailed",
                           "the setup task " +
                               (code >= 0 ? "exited with code " + std::to_string(code) : why) +
                               "; its stderr ends with: " + tail_of(t.stderr_path, 1000),
                           {{"stdout", t.stdout_path},
                            {"stderr", t.stderr_path},
                            {"executionLog", plan.execution_log}}});
  return result;
}

}  // namespace batchai
