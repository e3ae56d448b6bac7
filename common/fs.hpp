// Small file-system helpers with errors as values. Every write that others read while we run
// (state, status) goes through write_file_atomic so a reader never sees half a file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace batchai {

std::string errno_text(int err);

// Reads a whole file; refuses files larger than max_bytes.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes);

// Writes content to path atomically: temp file in the same directory, fsync, rename, fsync dir.
Status write_file_atomic(const std::string& path, const std::string& content, mode_t mode);

// mkdir -p with the given mode for the directories it creates.
Status make_dirs(const std::string& path, mode_t mode);

// Removes path and everything below it without crossing a mount point: a directory on another
// file system than path's own is left in place and reported as an error, never descended into.
Status remove_tree_one_fs(const std::string& path);

// Removes what is inside dir (same rules as remove_tree_one_fs), keeping dir itself.
Status empty_dir_one_fs(const std::string& dir);

// Joins path components with single slashes.
std::string join_path(const std::string& a, const std::string& b);

// The non-empty '/'-separated components of path ("//a/b/" gives a, b).
std::vector<std::string> split_path(std::string_view path);

}  // namespace batchai
