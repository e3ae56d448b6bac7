#include "agent/job/layout.hpp"

#include "common/fs.hpp"

namespace batchai {

std::string mounts_and_jobs_root(const std::string& root) {
  return join_path(root, "shared/LS_root");
}

std::string cluster_mount_root(const std::string& root) {
  return join_path(mounts_and_jobs_root(root), "mounts");
}

JobLayout make_job_layout(const std::string& root, const JobNames& n) {
  JobLayout l;
  l.root = root;
  l.mount_root = cluster_mount_root(root);
  l.jobs_root = join_path(mounts_and_jobs_root(root), "jobs");
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

std::string StateLayout::node_record() const {
  return join_path(dir_, "node.json");
}

std::string StateLayout::node_status() const {
  return join_path(dir_, "node-status.json");
}

std::string StateLayout::setup_record() const {
  return join_path(dir_, "setup.json");
}

std::string StateLayout::prepared_record() const {
  return join_path(dir_, "prepared.json");
}

std::string StateLayout::jobs_dir() const {
  return join_path(dir_, "jobs");
}

std::string StateLayout::job_dir(const std::string& job_uuid) const {
  return join_path(jobs_dir(), job_uuid);
}

std::string StateLayout::setup_dir(const std::string& config_id) const {
  return join_path(join_path(dir_, "setup"), config_id);
}

SupervisorFiles StateLayout::supervisor_files(const std::string& dir) {
  return {join_path(dir, "status.json"), join_path(dir, "supervisor.log")};
}

std::string StateLayout::job_status(const std::string& job_uuid) const {
  return supervisor_files(job_dir(job_uuid)).status;
}

std::string StateLayout::task_record(const std::string& job_uuid) const {
  return join_path(job_dir(job_uuid), "task.json");
}

std::string StateLayout::task_done(const std::string& job_uuid) const {
  return join_path(job_dir(job_uuid), "task.done");
}

std::string StateLayout::task_abandoned(const std::string& job_uuid) const {
  return join_path(job_dir(job_uuid), "task.abandoned");
}

std::string StateLayout::job_ssh(const std::string& job_uuid) const {
  return join_path(job_dir(job_uuid), "ssh");
}

}  // namespace batchai
