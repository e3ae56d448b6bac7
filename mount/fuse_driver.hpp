// The user-space driver behind a FUSE mount (rclone): after the kernel lets go of the mount the
// driver still uploads what the job wrote last, and only its exit says that the data is on the
// server. Found by its argv, which names the mount point.
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace batchai {

// pidfds of the processes with an argument equal to mount_point.
std::vector<UniqueFd> fuse_driver_processes(const std::string& mount_point);

// Waits until every one has exited; false when timeout_ms passed first.
bool wait_for_exit(const std::vector<UniqueFd>& pidfds, int timeout_ms);

}  // namespace batchai
