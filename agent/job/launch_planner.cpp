#include "agent/job/launch_planner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/job/job_container.hpp"
#include "agent/job/job_ssh.hpp"
#include "common/fs.hpp"
#include "exec/job_shell.hpp"
#include "heartbeat/gpu_inventory.hpp"
#include "jobspec/rules.hpp"

namespace batchai {

std::optional<std::string> find_program(const std::string& name, const std::string& path_var) {
  auto executable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return name;
    return std::nullopt;
  }
  std::size_t start = 0;
  while (start <= path_var.size()) {
    std::size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(start, end - start);
    if (!dir.empty() && executable(join_path(dir, name))) return join_path(dir, name);
    start = end + 1;
  }
  return std::nullopt;
}

namespace {

constexpr int kPyTorchMasterPort = 29500;  // torch's default
// The master waits for its gang as long as the job may run, and at least this long: a node's
// job preparation (pip installs, downloads) may take a while, and one that fails ends the gang
// through the control plane anyway.
constexpr std::int64_t kMinPeerWaitSeconds = 600;

class Planner {
 public:
  Planner(const JobSpec& spec, const PlanContext& ctx, Diagnostics& d)
      : spec_(spec), ctx_(ctx), d_(d) {}
  std::optional<PlannedJob> run();

 private:
  std::string at(const std::string& field) const { return "properties." + field; }
  std::optional<std::string> expand_path(const std::string& text, const std::string& path,
                                         bool absolute);
  std::optional<std::vector<std::string>> expand_words(const std::string& text,
                                                       const std::string& path);
  // on_host: a program the node runs (a mountCommand), found on the node even for a container job.
  std::optional<std::string> program(const std::string& name, const std::string& path,
                                     bool on_host = false);
  void add_env_section3();
  void plan_environment();
  void plan_directories();
  void plan_mounts();
  void plan_steps();
  void wrap_in_container();
  void check_kernel_limits();
  bool below_root(const std::string& path, const std::string& text, const std::string& field);
  void check_container_input(const std::string& path, const std::string& field);
  void plan_toolkit(StepSpec& step);
  void plan_gang_services(StepSpec& step);
  bool master() const { return !ctx_.gang || ctx_.gang->is_master(); }
  std::int64_t nodes() const { return ctx_.gang ? ctx_.gang->size() : 1; }
  std::int64_t node_index() const { return ctx_.gang ? ctx_.gang->index : 0; }
  // The job's nodes by address: the gang's, or this one node's.
  std::vector<std::string> hosts() const {
    return ctx_.gang ? ctx_.gang->hosts : std::vector<std::string>{ctx_.node_ip};
  }
  // "-<nodeId>" in per-node file names of a multi-node job (reference §5), else "".
  std::string node_suffix() const { return ctx_.gang ? "-" + ctx_.gang->node_id : ""; }
  std::optional<std::vector<std::string>> mpirun_head(const std::string& field);
  void wait_for_peers_first(StepSpec& step) const;
  void plan_mpi(StepSpec& step, const std::vector<std::string>& head, const std::string& field);
  void check_gang();
  std::optional<std::vector<std::string>> toolkit_head(const std::string& field);
  void plan_pytorch(StepSpec& step, const std::vector<std::string>& head, const std::string& field);
  void plan_tensorflow(StepSpec& step, const std::vector<std::string>& head,
                       const std::string& field);
  std::vector<std::string> with_args(const std::vector<std::string>& head, const std::string& args,
                                     const std::string& field);
  TaskSpec task(const std::string& name, std::vector<std::string> argv,
                const std::string& out_suffix) const;

  VarLookup argument_lookup(const std::string& field);

  const JobSpec& spec_;
  const PlanContext& ctx_;
  Diagnostics& d_;
  PlannedJob job_;
  bool launches_over_ssh_ = false;  // the master's "main" reaches the other nodes (MPI, ssh)
  std::set<std::string> reported_;  // "field: message" once, however many tasks expand it
};

std::optional<std::string> Planner::expand_path(const std::string& text, const std::string& path,
                                                bool absolute) {
  auto value = expand_vars(text, job_.env.lookup(false));
  if (!value) {
    d_.error(path, value.error().message);
    return std::nullopt;
  }
  if (absolute) {
    if (auto why = check_absolute_path(*value); !why.empty()) {
      d_.error(path, why + (text != *value ? " (expanded from \"" + text + "\")" : ""));
      return std::nullopt;
    }
  }
  return value.value();
}

std::optional<std::vector<std::string>> Planner::expand_words(const std::string& text,
                                                              const std::string& path) {
  auto words = expand_command_words(text, job_.env.lookup(false));
  if (!words) {
    d_.error(path, words.error().message);
    return std::nullopt;
  }
  return words.value();
}

std::optional<std::string> Planner::program(const std::string& name, const std::string& path,
                                            bool on_host) {
  // A relative path would be found from wherever the agent happens to run.
  if (name.find('/') != std::string::npos && !name.starts_with("/")) {
    d_.error(path, quote_value(name) +
                       " is a relative path: give the program's absolute path, or a name the "
                       "job's PATH finds");
    return std::nullopt;
  }
  // In a container the image's PATH finds programs, not the node's.
  if (spec_.container && !on_host) return name;
  std::string path_var;
  for (const auto& e : job_.env.to_envp()) {
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  }
  if (auto found = find_program(name, path_var)) return found;
  d_.error(path, quote_value(name) + " is not an executable program" +
                     (name.find('/') == std::string::npos ? " on the job's PATH (" + path_var + ")"
                                                          : std::string()));
  return std::nullopt;
}

void Planner::add_env_section3() {
  const JobLayout& l = ctx_.layout;
  auto& env = job_.env;
  const std::vector<std::string> hosts = this->hosts();
  const std::string& node_ip = ctx_.gang ? ctx_.gang->node_ip() : ctx_.node_ip;
  env.set("AZ_BATCHAI_MOUNT_ROOT", l.mount_root);
  env.set("AZ_BATCHAI_JOB_MOUNT_ROOT", l.job_mount_root);
  env.set("AZ_BATCHAI_JOB_TEMP_DIR", l.job_temp_dir);
  env.set("AZ_BATCHAI_JOB_TEMP", l.job_temp);
  env.set("AZ_BATCHAI_SHARED_JOB_TEMP", l.shared_job_temp);
  env.set("AZ_BATCHAI_JOB_NAME", ctx_.names.job);
  env.set("AZ_BATCHAI_NODE_IP", node_ip);
  env.set("AZ_BATCHAI_JOB_MASTER_NODE_IP", hosts.front());
  env.set("AZ_BATCHAI_IS_CURRENT_NODE_MASTER", master() ? "true" : "false");
  env.set("AZ_BATCH_HOST_LIST", host_list(hosts));
  env.set("AZ_BATCHAI_NUM_GPUS", std::to_string(ctx_.gpu_count));
  env.set("AZ_BATCHAI_GPU_COUNT_FOUND", std::to_string(ctx_.gpu_count));
  // Every GPU of the node is the job's (one job per node).
  if (ctx_.gpu_count > 0) env.set("CUDA_VISIBLE_DEVICES", all_devices(ctx_.gpu_count));
  job_.hostfile = join_path(l.job_temp, "hostfile");
  const std::int64_t processes =
      spec_.toolkit.kind == Toolkit::kTensorFlow
          ? spec_.toolkit.worker_count + spec_.toolkit.parameter_server_count
          : spec_.toolkit.process_count;
  job_.hostfile_content = mpi_hostfile(hosts, slots_per_node(processes, nodes()));
  env.set("AZ_BATCHAI_MPI_HOST_FILE", job_.hostfile);
  // OpenMPI refuses root unless told; jobs run as root, as on Batch AI's nodes.
  if (::geteuid() == 0) {
    env.set("OMPI_ALLOW_RUN_AS_ROOT", "1");
    env.set("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
  }
  if (ctx_.gang) {
    // ssh (and OpenMPI, and a user's own mpirun) reach the job's nodes with the job's key. By
    // name, found first on the job's PATH (plan_environment puts it there): mpirun hands its
    // setting on to the orted it starts on each node, where the job's ssh is that node's own
    // (its state dir, its container).
    env.set("OMPI_MCA_plm_rsh_agent", "ssh");
    if (!ctx_.gang->interface.empty()) env.set("GLOO_SOCKET_IFNAME", ctx_.gang->interface);
  }
}

TaskSpec Planner::task(const std::string& name, std::vector<std::string> argv,
                       const std::string& out_suffix) const {
  TaskSpec t;
  t.name = name;
  t.argv = std::move(argv);
  t.env = job_.env.to_envp();
  t.cwd = ctx_.layout.job_temp;
  t.stdout_path = join_path(job_.stdouterr_dir, "stdout" + out_suffix + ".txt");
  t.stderr_path = join_path(job_.stdouterr_dir, "stderr" + out_suffix + ".txt");
  return t;
}

// The program and script a toolkit's processes start with: the python toolkits' interpreter and
// script, cntk with its configuration, caffe with its solver.
std::optional<std::vector<std::string>> Planner::toolkit_head(const std::string& field) {
  const ToolkitSettings& t = spec_.toolkit;
  if (t.python_script) {
    auto interp_name = t.python_interpreter ? expand_path(*t.python_interpreter,
                                                          field + ".pythonInterpreterPath", false)
                                            : std::optional<std::string>("python3");
    auto interp =
        interp_name ? program(*interp_name, field + ".pythonInterpreterPath") : std::nullopt;
    auto script = expand_path(*t.python_script, field + ".pythonScriptFilePath", true);
    if (!interp || !script) return std::nullopt;
    return std::vector<std::string>{*interp, *script};
  }
  if (t.kind == Toolkit::kCntk) {
    auto cntk = program("cntk", field);
    auto config = expand_path(*t.config_file, field + ".configFilePath", true);
    if (!cntk || !config) return std::nullopt;
    return std::vector<std::string>{*cntk, "configFile=" + *config};
  }
  // caffe with a solver
  auto caffe = program("caffe", field);
  auto config = expand_path(*t.config_file, field + ".configFilePath", true);
  if (!caffe || !config) return std::nullopt;
  return std::vector<std::string>{*caffe, "train", "--solver=" + *config};
}

// Arguments are expanded as the shell Batch AI handed them to would: an undefined variable is
// nothing (with a warning in execution.log: the TensorFlow-Distributed recipe names an input it
// no longer declares); a secret stays an error. Paths stay strict (expand_path).
VarLookup Planner::argument_lookup(const std::string& field) {
  return [this, field](const std::string& name) -> Result<std::string> {
    if (job_.env.has(name)) return job_.env.lookup(false)(name);
    const std::string warning = field + ": $" + name + " is not defined; it expands to nothing";
    if (reported_.insert(warning).second) job_.warnings.push_back(warning);
    return std::string();
  };
}

// Expanded with the environment as it is now: each task's own (its index, TF_CONFIG, ...).
std::vector<std::string> Planner::with_args(const std::vector<std::string>& head,
                                            const std::string& args, const std::string& field) {
  auto words = expand_command_words(args, argument_lookup(field));
  std::vector<std::string> argv = head;
  if (words) {
    argv.insert(argv.end(), words->begin(), words->end());
  } else if (reported_.insert(field + ": " + words.error().message).second) {
    d_.error(field, words.error().message);
  }
  return argv;
}

// Rank r runs on the node whose block holds it (agent/job/gang.hpp), with what torch's
// env:// initialisation and torchrun's scripts read besides Batch AI's variables.
void Planner::plan_pytorch(StepSpec& step, const std::vector<std::string>& head,
                           const std::string& field) {
  const ToolkitSettings& t = spec_.toolkit;
  // The toolkit's variables first: the recipes name them in their arguments. On one node the
  // rendezvous is a file in the shared job temp; across nodes it is the master's TCP store:
  // torch's FileStore counts its ranks under flock, which the shared job temp over sshfs does
  // not share between nodes (a lost count hung one run in six in the tests).
  const std::string master_ip = job_.env.value_of("AZ_BATCHAI_JOB_MASTER_NODE_IP");
  job_.env.set("AZ_BATCHAI_PYTORCH_INIT_METHOD",
               nodes() > 1 ? "tcp://" + master_ip + ":" + std::to_string(kPyTorchMasterPort)
                           : "file://" + join_path(ctx_.layout.shared_job_temp, "pytorch_init"));
  if (t.communication_backend) job_.env.set("AZ_BATCHAI_PYTORCH_BACKEND", *t.communication_backend);
  job_.env.set("MASTER_ADDR", master_ip);
  job_.env.set("MASTER_PORT", std::to_string(kPyTorchMasterPort));
  job_.env.set("WORLD_SIZE", std::to_string(t.process_count));
  const RankBlock block = ranks_on_node(t.process_count, nodes(), node_index());
  for (std::int64_t i = block.first; i < block.first + block.count; ++i) {
    job_.env.set("AZ_BATCHAI_TASK_INDEX", std::to_string(i));
    job_.env.set("RANK", std::to_string(i));
    job_.env.set("LOCAL_RANK", std::to_string(i - block.first));
    step.tasks.push_back(task(std::to_string(i),
                              with_args(head, t.command_line_args, field + ".commandLineArgs"),
                              "-" + std::to_string(i)));
  }
  job_.env.unset("RANK");
  job_.env.unset("LOCAL_RANK");
}

void Planner::plan_tensorflow(StepSpec& step, const std::vector<std::string>& head,
                              const std::string& field) {
  const ToolkitSettings& t = spec_.toolkit;
  const auto placed = place_tensorflow(t.worker_count, t.parameter_server_count, hosts());
  std::vector<std::string> workers, ps;
  for (const auto& p : placed) (p.parameter_server ? ps : workers).push_back(p.address);
  job_.env.set("AZ_BATCHAI_WORKER_HOSTS", host_list(workers));
  job_.env.set("AZ_BATCHAI_PS_HOSTS", host_list(ps));
  // Each task of this node with its own index and TF_CONFIG; a mistake is reported once.
  for (const auto& p : placed) {
    if (p.node != node_index()) continue;
    const char* type = p.parameter_server ? "ps" : "worker";
    nlohmann::json config = {{"cluster", {{"ps", ps}, {"worker", workers}}},
                             {"task", {{"type", type}, {"index", p.index}}},
                             {"environment", "cloud"}};
    job_.env.set("AZ_BATCHAI_TASK_INDEX", std::to_string(p.index));
    job_.env.set("TF_CONFIG", config.dump());
    const std::string n = std::to_string(p.index);
    if (p.parameter_server) {
      TaskSpec ps_task =
          task("ps-" + n,
               with_args(head, t.parameter_server_args, field + ".parameterServerCommandLineArgs"),
               "-ps-" + n);
      ps_task.primary = false;  // parameter servers never exit by themselves
      step.tasks.push_back(std::move(ps_task));
      continue;
    }
    const auto argv = p.index == 0 && t.master_args
                          ? with_args(head, *t.master_args, field + ".masterCommandLineArgs")
                          : with_args(head, t.worker_args, field + ".workerCommandLineArgs");
    step.tasks.push_back(task("wk-" + n, argv, "-wk-" + n));
  }
}

// mpirun with the job's processes and hostfile (the job's environment gives it root and, on a
// gang, the job's ssh).
std::optional<std::vector<std::string>> Planner::mpirun_head(const std::string& field) {
  auto mpirun = program("mpirun", field);
  if (!mpirun) return std::nullopt;
  return std::vector<std::string>{*mpirun, "-np", std::to_string(spec_.toolkit.process_count),
                                  "--hostfile", job_.hostfile};
}

// The master's launcher of a gang (the task "main" of an MPI or a custom toolkit) starts once every
// other node is ready: its job preparation done, its sshd taking the job's sessions. The wait
// runs on the node, around a container job's container-exec: the agent is not in the image.
void Planner::wait_for_peers_first(StepSpec& step) const {
  if (!launches_over_ssh_ || !ctx_.gang || ctx_.gang->size() < 2) return;
  auto t = std::find_if(step.tasks.begin(), step.tasks.end(),
                        [](const TaskSpec& task) { return task.name == "main"; });
  if (t == step.tasks.end()) return;
  const std::vector<std::string> others(ctx_.gang->hosts.begin() + 1, ctx_.gang->hosts.end());
  std::vector<std::string> argv = {
      ctx_.gang->agent_program,
      "wait-for-peers",
      "--ssh",
      job_ssh_paths(ctx_.gang->ssh_dir).ssh_command,
      "--timeout",
      std::to_string(std::max(kMinPeerWaitSeconds, spec_.max_wall_clock_ms / 1000)),
      "--hosts",
      host_list(others),
      "--"};
  argv.insert(argv.end(), t->argv.begin(), t->argv.end());
  t->argv = std::move(argv);
}

// The MPI toolkits: mpirun on the master, which starts every process through the nodes' sshd.
void Planner::plan_mpi(StepSpec& step, const std::vector<std::string>& head,
                       const std::string& field) {
  auto mpi = mpirun_head(field);
  if (!mpi || !master()) return;
  mpi->insert(mpi->end(), head.begin(), head.end());
  launches_over_ssh_ = true;
  step.tasks.push_back(task(
      "main", with_args(*mpi, spec_.toolkit.command_line_args, field + ".commandLineArgs"), ""));
}

void Planner::plan_toolkit(StepSpec& step) {
  const ToolkitSettings& t = spec_.toolkit;
  const std::string field = at(settings_field(t.kind));
  if (t.kind == Toolkit::kCustomToolkit || t.kind == Toolkit::kCustomMpi) {
    auto bash = program("bash", field);
    auto mpi = t.kind == Toolkit::kCustomMpi ? mpirun_head(field) : std::vector<std::string>{};
    if (!bash || !mpi || !master()) return;
    // The user's own command line is the one string given to a shell, as Batch AI did; the job's
    // variables are in bash's environment, so bash expands them itself.
    std::string line;
    for (const auto& word : *mpi) line += shell_quoted(word) + " ";
    launches_over_ssh_ = true;  // a custom command may start its own mpirun or ssh
    step.tasks.push_back(task("main", {*bash, "-c", line + t.command_line}, ""));
    return;
  }
  auto head = toolkit_head(field);
  if (!head) return;
  const bool mpi =
      t.kind == Toolkit::kHorovod ||
      ((t.kind == Toolkit::kCntk || t.kind == Toolkit::kCaffe || t.kind == Toolkit::kChainer) &&
       t.process_count > 1);
  if (mpi) return plan_mpi(step, *head, field);
  switch (t.kind) {
    case Toolkit::kPyTorch:
      return plan_pytorch(step, *head, field);
    case Toolkit::kTensorFlow:
      return plan_tensorflow(step, *head, field);
    case Toolkit::kCaffe2: {
      // One process per node, its index the node's.
      const std::string i = std::to_string(node_index());
      job_.env.set("AZ_BATCHAI_TASK_INDEX", i);
      step.tasks.push_back(
          task(i, with_args(*head, t.command_line_args, field + ".commandLineArgs"), "-" + i));
      return;
    }
    default:  // cntk, caffe, chainer: one process, on the master
      if (!master()) return;
      step.tasks.push_back(
          task("main", with_args(*head, t.command_line_args, field + ".commandLineArgs"), ""));
      return;
  }
}

// A gang's nodes other than the master keep the job's place until the job ends. Every node
// runs the job's sshd for the whole job (job preparation included: the shared job temp goes
// through it) and is ready for the master once its job preparation is done.
void Planner::plan_gang_services(StepSpec& step) {
  if (!ctx_.gang) return;
  const JobSshPaths ssh = job_ssh_paths(ctx_.gang->ssh_dir);
  for (const std::string& needed : {ctx_.gang->sshd_program, ctx_.gang->sshfs_program,
                                    std::string(kSshProgram), ctx_.gang->job_shell_program}) {
    if (needed == ctx_.gang->sshfs_program && master()) continue;  // the master serves it
    // A container job's sshd is its image's (checked once the container runs).
    if (needed == ctx_.gang->sshd_program && spec_.container) continue;
    if (::access(needed.c_str(), X_OK) != 0) {
      d_.error(at("nodeCount"),
               "a multi-node job needs " + needed +
                   " on its nodes (Debian's openssh-server, openssh-client and sshfs, and the "
                   "agent's batchai-job-shell), and "
                   "this node has none");
      return;
    }
  }
  // The master serves the shared job temp through the sftp server; without one the other nodes
  // would wait for it as long as the job may run.
  if (master() && !spec_.container && ctx_.gang->size() > 1 && sftp_server_path() == nullptr) {
    d_.error(at("nodeCount"),
             "a multi-node job's master serves the shared job temp with "
             "OpenSSH's sftp server (Debian's openssh-sftp-server), and this "
             "node has none");
    return;
  }
  std::vector<std::string> sshd = sshd_argv(*ctx_.gang, ssh);
  if (spec_.container) sshd.front() = kSshdInImage;
  job_.plan.services.push_back(task("sshd", sshd, "-sshd" + node_suffix()));
  job_.plan.ready_file = ssh.ready;
  step.hold = !master();
}

// The assignment's place in the gang against the document: one host per node, the node's own
// files named apart, and what a gang cannot do yet.
void Planner::check_gang() {
  if (!ctx_.gang) {
    if (spec_.node_count != 1) {
      d_.error(at("nodeCount"),
               std::to_string(spec_.node_count) +
                   " nodes: run-job runs a job on this one node; nodeCount must be 1");
    }
    return;
  }
  const GangContext& g = *ctx_.gang;
  if (g.size() != spec_.node_count || g.index < 0 || g.index >= g.size()) {
    d_.error(at("nodeCount"), std::to_string(spec_.node_count) +
                                  " nodes, but the assignment names " + std::to_string(g.size()) +
                                  " hosts and index " + std::to_string(g.index));
  }
  for (const std::string& path : {g.ssh_dir, g.agent_program, g.job_shell_program}) {
    if (path.find_first_of(" \t\n\"'\\%") != std::string::npos) {
      d_.error(at("nodeCount"), quote_value(path) +
                                    " holds a blank, a quote or a %, which sshd's configuration "
                                    "cannot hold: give the agent a plain stateDir");
    }
  }
}

// Secrets first, so that a user variable naming one is told it is a secret, not undefined.
void Planner::plan_environment() {
  job_.env = ctx_.base_env;
  add_env_section3();
  for (const auto& s : spec_.secrets) job_.env.set(s.name, s.value, true);
  for (std::size_t i = 0; i < spec_.environment_variables.size(); ++i) {
    const auto& v = spec_.environment_variables[i];
    auto value = expand_vars(v.value, job_.env.lookup(false));
    if (!value) {
      d_.error(at("environmentVariables[" + std::to_string(i) + "].value"), value.error().message);
      continue;
    }
    job_.env.set(v.name, *value);
  }
  // The job's ssh first on PATH, whatever PATH the job sets: OpenMPI finds it by name.
  if (ctx_.gang) {
    const std::string dir = job_ssh_paths(ctx_.gang->ssh_dir).dir;
    const std::string path = job_.env.value_of("PATH");
    if (!path.starts_with(dir + ":")) job_.env.set("PATH", dir + ":" + path);
  }
}

// Where a job's files go must lie below the node root, as Batch AI's jobs wrote: on the
// cluster's or the job's volumes, or in the job's temp directory. Root writes nowhere else
// (/etc, /run, the agent's own state).
bool Planner::below_root(const std::string& path, const std::string& text,
                         const std::string& field) {
  const std::string& root = ctx_.layout.root;
  if (root.empty() || path.starts_with(root + "/")) return true;
  d_.error(field, quote_value(path) +
                      (text != path ? " (expanded from " + quote_value(text) + ")" : "") +
                      " is outside the node's root " + root +
                      ": a job writes below $AZ_BATCHAI_MOUNT_ROOT, $AZ_BATCHAI_JOB_MOUNT_ROOT "
                      "or $AZ_BATCHAI_JOB_TEMP");
  return false;
}

// A container is a boundary: what the node binds into it is the node root and, read-only, input
// directories below the roots the agent allows (containerInputRoots), never the engine's socket
// or the node's own system directories, whatever the roots say.
void Planner::check_container_input(const std::string& path, const std::string& field) {
  auto at_or_below = [&](std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return path == dir || path.starts_with(dir == "/" ? dir : dir + "/");
  };
  // Neither one of these nor a directory holding one (/var holds the engine's socket).
  auto holds = [&](const std::string& inner) { return inner.starts_with(path + "/"); };
  for (const std::string& forbidden :
       {ctx_.container_socket, std::string("/etc"), std::string("/root"), std::string("/proc"),
        std::string("/sys"), std::string("/dev"), std::string("/boot"), std::string("/run"),
        std::string("/var/run"), std::string("/var/lib/docker")}) {
    if ((!forbidden.empty() && (at_or_below(forbidden) || holds(forbidden))) || path == "/") {
      d_.error(field, quote_value(path) + " cannot be bound into the job's container: the node's " +
                          (path == ctx_.container_socket ? std::string("container engine")
                           : path == "/"                 ? "whole file system"
                                                         : forbidden) +
                          " is never given to a job");
      return;
    }
  }
  if (at_or_below(ctx_.layout.root)) return;
  for (const auto& allowed : ctx_.container_input_roots) {
    if (at_or_below(allowed)) return;
  }
  d_.error(field, quote_value(path) + " is outside the node's root " + ctx_.layout.root +
                      " and the agent's containerInputRoots: a container job sees only those");
}

// Input directories, stdouterr/ and the output directories, with their variables.
void Planner::plan_directories() {
  for (std::size_t i = 0; i < spec_.input_directories.size(); ++i) {
    const auto& in = spec_.input_directories[i];
    if (auto p =
            expand_path(in.path, at("inputDirectories[" + std::to_string(i) + "].path"), true)) {
      job_.env.set("AZ_BATCHAI_INPUT_" + in.id, *p);
      job_.input_paths.push_back(*p);
      if (spec_.container) {
        check_container_input(*p, at("inputDirectories[" + std::to_string(i) + "].path"));
      }
    }
  }
  if (auto p = expand_path(spec_.std_out_err_path_prefix, at("stdOutErrPathPrefix"), true);
      p && below_root(*p, spec_.std_out_err_path_prefix, at("stdOutErrPathPrefix"))) {
    job_.stdouterr_dir = join_path(join_path(*p, ctx_.layout.segment), "stdouterr");
    job_.env.set("AZ_BATCHAI_STDOUTERR_DIR", job_.stdouterr_dir);
  }
  for (std::size_t i = 0; i < spec_.output_directories.size(); ++i) {
    const auto& out = spec_.output_directories[i];
    const std::string base = at("outputDirectories[" + std::to_string(i) + "]");
    auto prefix = expand_path(out.path_prefix, base + ".pathPrefix", true);
    if (!prefix || !below_root(*prefix, out.path_prefix, base + ".pathPrefix")) continue;
    std::string path =
        out.create_new ? join_path(join_path(*prefix, ctx_.layout.segment), "outputs") : *prefix;
    if (out.path_suffix && !out.path_suffix->empty()) {
      auto suffix = expand_path(*out.path_suffix, base + ".pathSuffix", false);
      if (!suffix) continue;
      if (auto why = check_relative_path(*suffix); !why.empty()) {
        d_.error(base + ".pathSuffix", why);
        continue;
      }
      path = join_path(path, *suffix);
    }
    job_.outputs.push_back({out.id, path});
    job_.env.set("AZ_BATCHAI_OUTPUT_" + out.id, path);
  }
}

// The job's volumes below AZ_BATCHAI_JOB_MOUNT_ROOT; an unmanaged one's command, found on the node.
void Planner::plan_mounts() {
  for (const auto& v : spec_.mount_volumes) {
    PlannedMount m;
    m.volume = &v;
    m.mount_point = join_path(ctx_.layout.job_mount_root, v.relative_mount_path);
    if (v.kind == VolumeKind::kUnmanaged) {
      auto words = expand_words(v.mount_command, v.json_path + ".mountCommand");
      if (!words) continue;
      if (words->empty()) {
        d_.error(v.json_path + ".mountCommand", "has no words");
        continue;
      }
      auto prog = program((*words)[0], v.json_path + ".mountCommand", true);
      if (!prog) continue;
      (*words)[0] = *prog;
      m.command = std::move(*words);
      m.command.push_back(m.mount_point);
    }
    job_.mounts.push_back(std::move(m));
  }
}

// Every task runs in the job's container, through the agent's container-exec; so does a
// multi-node job's sshd.
void Planner::wrap_in_container() {
  std::vector<std::vector<TaskSpec>*> lists = {&job_.plan.services};
  for (auto& step : job_.plan.steps) lists.push_back(&step.tasks);
  for (auto* tasks : lists) {
    for (auto& t : *tasks) {
      std::vector<std::string> argv = {"/proc/self/exe",
                                       "container-exec",
                                       "--socket",
                                       ctx_.container_socket,
                                       "--container",
                                       ctx_.container_name,
                                       "--workdir",
                                       t.cwd,
                                       "--"};
      argv.insert(argv.end(), t.argv.begin(), t.argv.end());
      t.argv = std::move(argv);
    }
  }
}

// What execve takes: each argument and environment string at most MAX_ARG_STRLEN (32 pages)
// with its NUL, and all of them with their pointers within ARG_MAX. A command line the kernel
// would refuse is refused here, with its field, instead of failing as "exit code 127" later.
void Planner::check_kernel_limits() {
  constexpr std::size_t kMaxArgString = std::size_t{32} * 4096;
  const long arg_max_value = ::sysconf(_SC_ARG_MAX);
  const std::size_t arg_max = arg_max_value > 0 ? static_cast<std::size_t>(arg_max_value) : 131072;
  for (const auto& step : job_.plan.steps) {
    const std::string field = step.name == "jobPreparation"
                                  ? at("jobPreparation.commandLine")
                                  : at(settings_field(spec_.toolkit.kind));
    for (const auto& t : step.tasks) {
      std::size_t total = 0;
      std::size_t longest = 0;
      for (const auto* list : {&t.argv, &t.env}) {
        for (const auto& s : *list) {
          total += s.size() + 1 + sizeof(char*);
          longest = std::max(longest, s.size() + 1);
        }
      }
      if (longest > kMaxArgString) {
        d_.error(field, "task " + t.name + " has an argument or environment value of " +
                            std::to_string(longest - 1) + " bytes once expanded, more than the " +
                            std::to_string(kMaxArgString - 1) + " the kernel passes to a program");
      } else if (total > arg_max) {
        d_.error(field, "task " + t.name + "'s arguments and environment are " +
                            std::to_string(total) + " bytes once expanded, more than the " +
                            std::to_string(arg_max) + " the kernel passes to a program (ARG_MAX)");
      }
    }
  }
}

// The supervisor's plan: job preparation, then the toolkit's processes.
void Planner::plan_steps() {
  LaunchPlan& plan = job_.plan;
  plan.job_id = ctx_.names.job_uuid;
  plan.job_name = ctx_.names.job;
  plan.execution_log = join_path(job_.stdouterr_dir, "execution" + node_suffix() + ".log");
  // Several nodes of one job may share a machine (and its cgroups): each its own.
  if (ctx_.gang) plan.job_id += "." + std::to_string(ctx_.gang->index);
  plan.deadline_wall_ms = ctx_.start_wall_ms + spec_.max_wall_clock_ms;
  plan.max_wall_clock_ms = spec_.max_wall_clock_ms;
  apply_supervision(ctx_.supervision, plan);
  plan.files_root = ctx_.layout.root;
  StepSpec main_step{"job", "JobFailed", {}};
  plan_toolkit(main_step);
  // What is left is the job-wide environment (toolkit variables such as the host lists
  // included): job preparation runs with it, and so does everything else that is not a task.
  job_.env.unset("AZ_BATCHAI_TASK_INDEX");
  job_.env.unset("TF_CONFIG");
  plan_gang_services(main_step);
  if (spec_.job_preparation) {
    StepSpec prep{"jobPreparation", "JobPreparationFailed", {}};
    if (auto bash = program("bash", at("jobPreparation"))) {
      prep.tasks.push_back(
          task("job_prep", {*bash, "-c", *spec_.job_preparation}, "-job_prep" + node_suffix()));
    }
    plan.steps.push_back(std::move(prep));
  }
  plan.steps.push_back(std::move(main_step));
  if (spec_.container) wrap_in_container();
  wait_for_peers_first(plan.steps.back());
}

std::optional<PlannedJob> Planner::run() {
  const std::size_t errors_before = d_.error_count();
  check_gang();
  // A gang that does not fit its document has no place to plan from.
  if (ctx_.gang && d_.error_count() != errors_before) return std::nullopt;
  job_.layout = ctx_.layout;
  job_.container = spec_.container;
  job_.container_name = ctx_.container_name;
  job_.job_uuid = ctx_.names.job_uuid;
  if (ctx_.gang) job_.ssh_dir = ctx_.gang->ssh_dir;
  job_.gpu_count = ctx_.gpu_count;
  job_.infiniband_devices = ctx_.infiniband_devices;
  plan_environment();
  plan_directories();
  plan_mounts();
  plan_steps();
  check_kernel_limits();
  if (d_.error_count() != errors_before) return std::nullopt;
  return std::move(job_);
}

}  // namespace

void apply_supervision(const SupervisionSettings& settings, LaunchPlan& plan) {
  plan.grace_ms = settings.grace_ms;
  plan.unkillable_after_ms = settings.unkillable_after_ms;
  plan.end_with_parent = settings.end_with_parent;
  plan.cgroup_parent = settings.cgroup_parent;
}

LaunchPlan plan_shell_command(const ShellCommandPlan& r) {
  const std::string path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  LaunchPlan plan;
  plan.job_id = r.id;
  plan.job_name = r.name;
  plan.execution_log = r.execution_log;
  plan.files_root = r.files_root;
  apply_supervision(r.supervision, plan);
  TaskSpec t;
  t.name = r.task;
  t.argv = {find_program("bash", path_var).value_or("/bin/bash"), "-c", r.command_line};
  t.env = r.env.to_envp(true);
  t.cwd = r.cwd;
  t.stdout_path = r.stdout_path;
  t.stderr_path = r.stderr_path;
  plan.steps.push_back({r.step, r.failure_code, {t}});
  return plan;
}

std::optional<PlannedJob> plan_job(const JobSpec& spec, const PlanContext& ctx, Diagnostics& d) {
  Planner planner(spec, ctx, d);
  return planner.run();
}

}  // namespace batchai
