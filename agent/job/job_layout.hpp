// Where a job's directories are on the node (reference §3, §5). The root is /mnt/batch/tasks on
// cluster images; run-job takes --root.
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
// clang-format on
#pragma once

#include <string>

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

// <root>/.run-job.lock: one job at a time on a node root. run-job and the daemon's set-up take
// it (flock); the job's supervisor holds it for the job's life.
std::string node_root_lock_path(const std::string& root);

}  // namespace batchai
