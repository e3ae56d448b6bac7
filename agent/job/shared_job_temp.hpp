// AZ_BATCHAI_SHARED_JOB_TEMP as one directory for a whole multi-node job: the master's own, and
// on every other node the master's mounted over the job's SSH with sshfs (FUSE, Debian's
// sshfs), as Batch AI exported it from the master over NFS. PyTorch's file:// initialisation
// and Caffe2's file store meet there. Mounted before the node's job preparation; unmounted when
// the job is taken down (take_down_job unmounts everything at or below it).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agent/job/gang.hpp"
#include "common/job_error.hpp"

namespace batchai {

// Mounts the master's shared job temp at mount_point, trying again each second until the
// master's sshd answers or timeout_ms passes. `interrupted` is asked between tries; a non-zero
// answer stops, and is returned in *interrupted_by. None on success.
std::optional<JobError> mount_shared_job_temp(const GangContext& gang,
                                              const std::string& mount_point,
                                              std::int64_t timeout_ms,
                                              const std::function<int()>& interrupted,
                                              int* interrupted_by);

}  // namespace batchai
