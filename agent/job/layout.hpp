// Where the agent keeps things on the node, each path spelled here once: the node root, where
// jobs' directories are (reference §3, §5; /mnt/batch/tasks on cluster images, run-job takes
// --root), and the agent's own state directory (docs/state-layout.md).
//
// clang-format off
// <root>/shared/LS_root/mounts/                        AZ_BATCHAI_MOUNT_ROOT (cluster volumes)
// <root>/shared/LS_root/jobs/<ws>/<exp>/<job>/mounts/  AZ_BATCHAI_JOB_MOUNT_ROOT (job volumes)
// <root>/tmp/                                          AZ_BATCHAI_JOB_TEMP_DIR, emptied before a job
// <root>/tmp/job-<uuid>/                               AZ_BATCHAI_JOB_TEMP, the tasks' working dir
// <root>/tmp/shared-<uuid>/                            AZ_BATCHAI_SHARED_JOB_TEMP (one node)
// <P>/<segment>/stdouterr/                             AZ_BATCHAI_STDOUTERR_DIR, P = stdOutErrPathPrefix
// <pathPrefix>/<segment>/outputs[/<pathSuffix>]        AZ_BATCHAI_OUTPUT_<id>
// segment = <subscription>/<resource group>/workspaces/<ws>/experiments/<exp>/jobs/<job>/<uuid>
// <root>/.run-job.lock                                 one job at a time (node_root_lock_path)
//
// <state dir>/                     /var/lib/batchai-agent by default; 0700, root only
//   node.json                      the daemon's report sequence number
//   node-status.json               the daemon's last report, for `batchai-agent status`
//   setup.json                     the setup task's last run: boot id, configuration, exit code
//   setup/<config id>/             the setup task's supervisor: status.json, supervisor.log
//   jobs/                          0700
//     <job uuid>/                  0700, one per job this node started
//       status.json                the supervisor's record of the job (exec/job_status.hpp)
//       supervisor.log             the supervisor's own stderr; no secrets
//       task.json                  the daemon's record of the task (agent/daemon/node_task.hpp),
//       task.done, task.abandoned  renamed once closed, or once its set-up was cut off
//       ssh/                       a multi-node job's SSH (agent/job/job_ssh.hpp), until take-down
// clang-format on
//
// The launch plan, which holds the job's secrets, is never written here: the supervisor reads
// it from a pipe (exec/supervisor_process.hpp).
#pragma once

#include <string>

#include "exec/supervisor_process.hpp"

namespace batchai {

struct JobNames {
  std::string subscription = "local";
  std::string resource_group = "run-job";
  std::string workspace = "local";
  std::string experiment = "local";
  std::string job;
  std::string job_uuid;
};

struct JobLayout {
  std::string root;  // the node root: everything the agent writes for a job is below it
  std::string mount_root;
  std::string jobs_root;  // <root>/shared/LS_root/jobs
  std::string job_dir;
  std::string job_mount_root;
  std::string job_temp_dir;
  std::string job_temp;
  std::string shared_job_temp;
  std::string segment;
};

JobLayout make_job_layout(const std::string& root, const JobNames& names);

// <root>/shared/LS_root/mounts: AZ_BATCHAI_MOUNT_ROOT, where the cluster's volumes are.
std::string cluster_mount_root(const std::string& root);
// <root>/shared/LS_root: everything the agent mounts is below it.
std::string mounts_and_jobs_root(const std::string& root);

// <root>/.run-job.lock: one job at a time on a node root. run-job and the daemon's set-up take
// it (flock); the job's supervisor holds it for the job's life.
std::string node_root_lock_path(const std::string& root);

// The agent's state directory.
class StateLayout {
 public:
  explicit StateLayout(std::string state_dir) : dir_(std::move(state_dir)) {}

  const std::string& dir() const { return dir_; }
  std::string node_record() const;      // node.json
  std::string node_status() const;      // node-status.json
  std::string setup_record() const;     // setup.json
  std::string prepared_record() const;  // prepared.json
  std::string jobs_dir() const;         // jobs/
  std::string job_dir(const std::string& job_uuid) const;
  std::string setup_dir(const std::string& config_id) const;
  // A supervisor's status.json and supervisor.log, in job_dir() or setup_dir().
  static SupervisorFiles supervisor_files(const std::string& dir);
  std::string job_status(const std::string& job_uuid) const;
  std::string task_record(const std::string& job_uuid) const;     // task.json
  std::string task_done(const std::string& job_uuid) const;       // task.done
  std::string task_abandoned(const std::string& job_uuid) const;  // task.abandoned
  std::string job_ssh(const std::string& job_uuid) const;         // ssh/

 private:
  std::string dir_;
};

}  // namespace batchai
