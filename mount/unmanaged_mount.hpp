// unmanagedFileSystems (reference §6): the user's mountCommand run as argv, never through a
// shell, with the mount point appended, behind a timeout.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

// Runs argv with env; fails with the helper's own output when it exits non-zero or runs past
// timeout_ms (then its whole process group is killed).
Status run_mount_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         int timeout_ms);

}  // namespace batchai
