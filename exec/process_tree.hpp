// Finding and signalling every process below the supervisor. The supervisor is a child
// subreaper, so a process that double-forks away from its task is re-parented to it and stays
// findable here; no process is ever found by a remembered pid alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace batchai {

// All living descendants of root (not root itself), read from /proc.
std::vector<pid_t> list_descendants(pid_t root);

// Sends sig to every descendant of root; returns how many were signalled.
int signal_descendants(pid_t root, int sig);

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), 0 when unreadable.
std::uint64_t process_start_ticks(pid_t pid);

// /proc/sys/kernel/random/boot_id, "" when unreadable.
std::string boot_id();

}  // namespace batchai
