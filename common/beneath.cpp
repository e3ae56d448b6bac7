#include "common/beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/fs.hpp"

namespace batchai {

namespace {

Result<std::vector<std::string>> components(const std::string& relative) {
  std::vector<std::string> out;
  if (relative.starts_with("/")) return err("\"" + relative + "\" is not a relative path");
  std::size_t start = 0;
  while (start < relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    const std::string part = relative.substr(start, end - start);
    if (part == "..") return err("\"" + relative + "\" leaves its directory (\"..\")");
    if (!part.empty() && part != ".") out.push_back(part);
    start = end + 1;
  }
  return out;
}

// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); -1 with errno ENOSYS where the kernel has none.
int openat2_beneath(int dir_fd, const std::string& relative, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(
      ::syscall(SYS_openat2, dir_fd, relative.empty() ? "." : relative.c_str(), &how, sizeof how));
}

// The same, one component at a time: every directory on the way opened with O_NOFOLLOW.
int walk_beneath(int dir_fd, const std::vector<std::string>& parts, int flags, mode_t mode) {
  UniqueFd current(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return -1;
  if (parts.empty()) return ::openat(current.get(), ".", flags | O_CLOEXEC);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(
        ::openat(current.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return -1;
    current = std::move(next);
  }
  return ::openat(current.get(), parts.back().c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

std::string what_failed(const std::string& relative, int e) {
  if (e == ELOOP || e == EXDEV) {
    return "\"" + relative + "\": a symbolic link on the way (it is never followed)";
  }
  return "\"" + relative + "\": " + errno_text(e);
}

}  // namespace

Result<UniqueFd> open_beneath(int dir_fd, const std::string& relative, int flags, mode_t mode) {
  auto parts = components(relative);
  if (!parts) return parts.error();
  int fd = openat2_beneath(dir_fd, relative, flags, mode);
  // No openat2 (ENOSYS), or a seccomp profile that refuses it (EPERM, older container
  // engines): the walk, which refuses links as well.
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) fd = walk_beneath(dir_fd, *parts, flags, mode);
  if (fd < 0) {
    const int e = errno;
    Result<UniqueFd> failed = err(what_failed(relative, e));
    errno = e;  // the caller may tell a missing file apart
    return failed;
  }
  return UniqueFd(fd);
}

Result<UniqueFd> make_dirs_beneath(int dir_fd, const std::string& relative, mode_t mode) {
  auto parts = components(relative);
  if (!parts) return parts.error();
  UniqueFd current(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return err("dup: " + errno_text(errno));
  for (const auto& part : *parts) {
    if (::mkdirat(current.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
      return err(what_failed(relative, errno));
    }
    // An existing name that is a link (or not a directory) is refused here: O_NOFOLLOW.
    UniqueFd next(
        ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      int e = errno;
      struct stat st {};
      if (::fstatat(current.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        e = ELOOP;  // O_DIRECTORY says ENOTDIR for a link: say what it is
      }
      return err(what_failed(relative, e));
    }
    current = std::move(next);
  }
  if (parts->empty()) {
    UniqueFd self(::openat(current.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!self.valid()) return err(what_failed(relative, errno));
    return self;
  }
  return current;
}

Result<std::string> path_below(const std::string& root, const std::string& path) {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (path == r) return std::string();
  const std::string prefix = r == "/" ? "/" : r + "/";
  if (!path.starts_with(prefix)) return err(path + " is not below " + r);
  return path.substr(prefix.size());
}

Status make_dirs_below(const std::string& root, const std::string& path, mode_t mode) {
  auto relative = path_below(root, path);
  if (!relative) return relative.error();
  if (auto s = make_dirs(root, 0755); !s) return s;
  auto root_fd = open_root(root);
  if (!root_fd) return root_fd.error();
  auto made = make_dirs_beneath(root_fd->get(), *relative, mode);
  if (!made) return err("cannot create " + path + ": " + made.error().message);
  return ok();
}

Result<UniqueFd> open_below(const std::string& root, const std::string& path, int flags,
                            mode_t mode) {
  auto relative = path_below(root, path);
  if (!relative) return relative.error();
  auto root_fd = open_root(root);
  if (!root_fd) return root_fd.error();
  return open_beneath(root_fd->get(), *relative, flags, mode);
}

Result<UniqueFd> open_root(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return err("cannot open " + path + ": " + errno_text(errno));
  return fd;
}

}  // namespace batchai
