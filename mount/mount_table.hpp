// What is mounted, read with libmount from /proc/self/mountinfo: the agent never trusts its own
// memory of what it mounted.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

// Mount points at path or below it, deepest first (the order to unmount them in).
Result<std::vector<std::string>> mounts_at_or_below(const std::string& path);
// The same in a mountinfo text (the fuzz target's way in).
Result<std::vector<std::string>> mounts_at_or_below_in(const std::string& mountinfo,
                                                       const std::string& path);

// The file system type of the topmost mount at target ("fuse.rclone", "cifs"), or "" if none.
std::string mount_fstype(const std::string& target);

}  // namespace batchai
