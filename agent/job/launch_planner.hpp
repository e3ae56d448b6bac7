// Turns a validated JobSpec into what the node does for it on one node: the expanded paths, the
// environment of reference §3, the job-level unmanaged mounts and the supervisor's LaunchPlan
// (job preparation, then the toolkit's processes as reference §4 launches them). Problems found
// while expanding ($UNDEFINED, a secret in an argument, a relative path after expansion) are
// reported like validation errors, with their JSON paths. Nothing here touches the system
// except looking programs up on the job's PATH.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/job/gang.hpp"
#include "agent/job/job_environment.hpp"
#include "agent/job/layout.hpp"
#include "common/diagnostics.hpp"
#include "exec/launch_plan.hpp"
#include "jobspec/job_spec.hpp"

namespace batchai {

struct PlannedOutput {
  std::string id;
  std::string path;
};

struct PlannedMount {
  const MountVolume* volume = nullptr;
  std::string mount_point;
  std::vector<std::string> command;  // unmanaged: the expanded mountCommand words + mount point
};

struct PlannedJob {
  JobLayout layout;
  JobEnvironment env;
  std::string stdouterr_dir;
  std::vector<PlannedOutput> outputs;
  std::vector<PlannedMount> mounts;
  std::string hostfile;  // AZ_BATCHAI_MPI_HOST_FILE, written before launch
  std::string hostfile_content;
  LaunchPlan plan;
  // Container jobs: the settings, the container's name, the node's GPU count and the input
  // directories (bound into the container when they are outside the node's root).
  std::optional<ContainerSettings> container;
  std::string container_name;
  std::string job_uuid;  // the container's label: the take-down finds it by the job
  std::string ssh_dir;   // a multi-node job's SSH files (bound into its container read-only)
  int gpu_count = 0;
  std::vector<std::string> infiniband_devices;  // the node's, passed into its container
  std::vector<std::string> input_paths;
  // For execution.log: what the planner let through with a warning (an undefined variable in
  // arguments expands to nothing, as in the shell Batch AI handed them to).
  std::vector<std::string> warnings;
};

// How the supervisor treats a job's processes: the node's settings, not the document's.
struct SupervisionSettings {
  std::int64_t grace_ms = 10000;             // SIGTERM -> SIGKILL
  std::int64_t unkillable_after_ms = 60000;  // after SIGKILL: the processes cannot be killed
  bool end_with_parent = false;              // run-job: the job ends if run-job dies
  std::string cgroup_parent;                 // "" for none
};

struct PlanContext {
  JobLayout layout;
  JobNames names;
  JobEnvironment base_env;  // the node's base environment
  int gpu_count = 0;
  std::vector<std::string> infiniband_devices;  // /dev/infiniband/* (heartbeat/node_facts.hpp)
  std::string node_ip = "127.0.0.1";
  std::int64_t start_wall_ms = 0;
  // Container jobs (containerSettings): the engine's socket and the job's container's name.
  std::string container_socket = "/var/run/docker.sock";
  std::string container_name;
  // Besides the root, where a container job's input directories may be (bound read-only).
  std::vector<std::string> container_input_roots;
  SupervisionSettings supervision;
  // A task of a multi-node job (the daemon's): this node's place in the gang. None: a job on
  // this one node (run-job's, or the daemon's with nodeCount 1).
  std::optional<GangContext> gang;
};

// The whole plan, finished: nothing is added to it after this.
std::optional<PlannedJob> plan_job(const JobSpec& spec, const PlanContext& ctx, Diagnostics& d);

// One `bash -c <command line>` as a plan of one step, as the cluster's setup task runs.
struct ShellCommandPlan {
  std::string id;    // the plan's job id
  std::string name;  // for messages
  std::string step;  // the step's name, its failure code and its one task's name
  std::string failure_code;
  std::string task;
  std::string command_line;
  JobEnvironment env;  // with its secrets, which the command gets
  std::string cwd;
  std::string stdout_path;
  std::string stderr_path;
  std::string execution_log;
  std::string files_root;  // the output files are opened beneath it (exec/launch_plan.hpp)
  SupervisionSettings supervision;
};
LaunchPlan plan_shell_command(const ShellCommandPlan& request);

// Copies the node's supervision settings into a plan.
void apply_supervision(const SupervisionSettings& settings, LaunchPlan& plan);

// Looks name up like execvp would, but on the given PATH; names with a '/' are taken as they are.
std::optional<std::string> find_program(const std::string& name, const std::string& path_var);

}  // namespace batchai
