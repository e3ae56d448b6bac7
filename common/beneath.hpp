// Opening and creating below a directory without ever leaving it: no ".." and no symbolic link
// in any component, so a link planted in a share (by anyone who can write it) cannot send what
// root opens or creates somewhere else. Linux's openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS where the kernel has it (5.6), else a walk one component at a time with
// O_NOFOLLOW.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

// Opens `relative`, a path below dir_fd ("" or "." is dir_fd itself), with open(2)'s flags
// (O_CLOEXEC is added). A symbolic link, "..", or an absolute path is an error; errno is the
// failure's (ENOENT: it does not exist).
Result<UniqueFd> open_beneath(int dir_fd, const std::string& relative, int flags, mode_t mode = 0);

// mkdir -p of `relative` below dir_fd, each directory created with `mode` and none followed
// through a symbolic link; returns the last one, open (O_DIRECTORY).
Result<UniqueFd> make_dirs_beneath(int dir_fd, const std::string& relative, mode_t mode);

// The absolute `path`'s part below `root` ("" for root itself); an error when it is not below.
Result<std::string> path_below(const std::string& root, const std::string& path);

// mkdir -p of the absolute `path`, which must lie below `root`: root itself (given by the
// administrator, it may go through links) as make_dirs does, the rest beneath it.
Status make_dirs_below(const std::string& root, const std::string& path, mode_t mode);

// Opens the absolute `path` below `root` beneath it (see open_beneath).
Result<UniqueFd> open_below(const std::string& root, const std::string& path, int flags,
                            mode_t mode = 0);

// The directory `path` itself, opened to serve as dir_fd (O_PATH | O_DIRECTORY); the path of a
// root the agent was given may go through links, what is below it may not.
Result<UniqueFd> open_root(const std::string& path);

}  // namespace batchai
