// Taking a job's volumes down: unmount everything at or below a directory (deepest first,
// retried while busy, lazily only as the last resort), then remove the directories that are
// left empty. Never deletes across a mount boundary and never deletes files.
#pragma once

#include <string>

#include "common/result.hpp"

namespace batchai {

// Unmounts every mount at or below path. Collects every failure instead of stopping.
Status unmount_all_below(const std::string& path);

// Removes empty directories from dir upwards, stopping at (and keeping) stop_at. A directory
// that still holds anything, or is a mount point, is kept and ends the walk.
void prune_empty_dirs(const std::string& dir, const std::string& stop_at);

// Removes dir and the empty directories below it, bottom-up; files are never removed.
Status remove_empty_tree(const std::string& dir);

}  // namespace batchai
