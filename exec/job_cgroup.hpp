// The job's cgroup (v2) where the machine allows one: every task joins it before exec, so the
// whole tree can be listed and killed at once (cgroup.kill) whatever it does to its process
// groups. Without cgroup v2 the supervisor still finds the tree as its subreaper.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

// The cgroup v2 directory of this process (mount point + path from /proc/self/cgroup), where
// job cgroups are created as children. Error when there is no cgroup v2 hierarchy.
Result<std::string> own_cgroup_dir();

// The name of a job's cgroup below the agent's own: "batchai-job-<job uuid>".
inline std::string job_cgroup_name(const std::string& job_id) {
  return "batchai-job-" + job_id;
}

class JobCgroup {
 public:
  // Creates parent/name (mode 0755).
  static Result<JobCgroup> create(const std::string& parent, const std::string& name);
  // An existing cgroup directory, e.g. one recorded in a job's status.json.
  static JobCgroup existing(const std::string& dir) { return JobCgroup(dir); }

  const std::string& dir() const { return dir_; }
  std::string procs_file() const { return dir_ + "/cgroup.procs"; }
  std::vector<pid_t> pids() const;
  bool populated() const;
  // SIGKILL to every process in the cgroup (cgroup.kill, Linux 5.14+; else one by one).
  void kill_all() const;
  // Removes the directory; fails while processes remain.
  Status remove() const;

 private:
  explicit JobCgroup(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace batchai
