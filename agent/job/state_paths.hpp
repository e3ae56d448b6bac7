// The agent's own state on disk, in one place (see docs/state-layout.md):
//
// <state dir>/                     /var/lib/batchai-agent by default; 0700, root only
//   jobs/                          0700
//     <job uuid>/                  0700, one per job this node started
//       status.json                the supervisor's record of the job (exec/job_status.hpp),
//                                  rewritten atomically (write temp, fsync, rename) on change
//       supervisor.log             the supervisor's own stderr; no secrets
//
// The launch plan, which holds the job's secrets, is never written here: the supervisor reads
// it from a pipe.
#pragma once

#include <string>

#include "common/fs.hpp"

namespace batchai {

inline std::string job_state_dir(const std::string& state_dir, const std::string& job_uuid) {
  return join_path(state_dir, "jobs/" + job_uuid);
}

inline std::string job_status_file(const std::string& state_dir, const std::string& job_uuid) {
  return join_path(job_state_dir(state_dir, job_uuid), "status.json");
}

}  // namespace batchai
