#include "agent/job/job_layout.hpp"

#include "common/fs.hpp"

namespace batchai {

JobLayout make_job_layout(const std::string& root, const JobNames& n) {
  JobLayout l;
  const std::string ls_root = join_path(root, "shared/LS_root");
  l.mount_root = join_path(ls_root, "mounts");
  l.jobs_root = join_path(ls_root, "jobs");
  l.job_dir = join_path(l.jobs_root, n.workspace + "/" + n.experiment + "/" + n.job);
  l.job_mount_root = join_path(l.job_dir, "mounts");
  l.job_temp_dir = join_path(root, "tmp");
  l.job_temp = join_path(l.job_temp_dir, "job-" + n.job_uuid);
  l.shared_job_temp = join_path(l.job_temp_dir, "shared-" + n.job_uuid);
  l.segment = n.subscription + "/" + n.resource_group + "/workspaces/" + n.workspace +
              "/experiments/" + n.experiment + "/jobs/" + n.job + "/" + n.job_uuid;
  return l;
}

std::string node_root_lock_path(const std::string& root) {
  return root + "/.run-job.lock";
}

}  // namespace batchai
