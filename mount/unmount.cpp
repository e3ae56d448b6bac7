#include "mount/unmount.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "common/fs.hpp"
#include "mount/fuse_driver.hpp"
#include "mount/mount_table.hpp"

namespace batchai {

namespace {

constexpr int kBusyRetries = 10;
// How long a FUSE driver may take to upload what was written last, after the unmount.
constexpr int kDriverExitTimeoutMs = 10 * 60 * 1000;
constexpr int kUmountTimeoutMs = 30 * 1000;

// A network file system's umount2 can wait for a server that no longer answers: it runs in a
// child (fork, umount2, _exit: nothing but system calls, safe in a threaded agent) that gets
// timeout_ms. Returns umount2's errno (0 on success), or ETIMEDOUT.
int umount_with_timeout(const std::string& target, int timeout_ms) {
  pid_t pid = ::fork();
  if (pid < 0) return ::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0 ? 0 : errno;
  if (pid == 0) ::_exit(::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0 ? 0 : errno & 0xff);
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  std::vector<UniqueFd> child;
  if (exited.valid()) child.push_back(std::move(exited));
  if (!child.empty() && !wait_for_exit(child, timeout_ms)) {
    ::kill(pid, SIGKILL);  // reaped below once the kernel lets it go; it may not at once
    std::thread([pid] { ::waitpid(pid, nullptr, 0); }).detach();
    return ETIMEDOUT;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

Status unmount_one(const std::string& target) {
  // A FUSE driver uploads the last writes after the unmount: the unmount is done when it exits.
  std::vector<UniqueFd> drivers;
  if (mount_fstype(target).starts_with("fuse")) drivers = fuse_driver_processes(target);
  for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
    errno = umount_with_timeout(target, kUmountTimeoutMs);
    if (errno == ETIMEDOUT) break;  // the server does not answer: detach below
    if (errno == 0) {
      if (!wait_for_exit(drivers, kDriverExitTimeoutMs)) {
        return err("the driver of " + target + " was still writing " +
                   std::to_string(kDriverExitTimeoutMs / 60000) +
                   " minutes after the unmount; the last writes may be missing on the server");
      }
      return ok();
    }
    if (errno == EINVAL || errno == ENOENT) return ok();  // not (or no longer) a mount point
    if (errno != EBUSY) return err("cannot unmount " + target + ": " + errno_text(errno));
    // Busy: a process of the job may still be closing files. Retrying is the only way to wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
  }
  const bool timed_out = errno == ETIMEDOUT;
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
    return err(target +
               (timed_out ? " did not unmount within " + std::to_string(kUmountTimeoutMs / 1000) +
                                " s (server not answering)"
                          : " stayed busy") +
               "; detached lazily");
  }
  return err("cannot unmount " + target + ": " + errno_text(errno));
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

Status unmount_all_below(const std::string& path) {
  auto mounts = mounts_at_or_below(path);
  if (!mounts) return mounts.error();
  std::string errors;
  for (const auto& m : *mounts) {
    if (auto s = unmount_one(m); !s) errors += (errors.empty() ? "" : "; ") + s.error().message;
  }
  if (!errors.empty()) return err(errors);
  return ok();
}

void prune_empty_dirs(const std::string& dir, const std::string& stop_at) {
  std::string cur = dir;
  while (cur.size() > stop_at.size() && cur.starts_with(stop_at + "/")) {
    if (::rmdir(cur.c_str()) != 0) return;  // not empty, a mount point, or gone
    cur = cur.substr(0, cur.rfind('/'));
  }
}

Status remove_empty_tree(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return ok();
  if (!S_ISDIR(st.st_mode)) return err(dir + " is not empty; left in place");
  std::vector<std::string> children;
  {
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) return err("cannot read " + dir + ": " + errno_text(errno));
    while (dirent* e = ::readdir(d.get())) {
      std::string name = e->d_name;
      if (name != "." && name != "..") children.push_back(join_path(dir, name));
    }
  }
  std::string errors;
  for (const auto& c : children) {
    struct stat cst {};
    if (::lstat(c.c_str(), &cst) == 0 && S_ISDIR(cst.st_mode) && cst.st_dev == st.st_dev) {
      if (auto s = remove_empty_tree(c); !s)
        errors += (errors.empty() ? "" : "; ") + s.error().message;
    } else {
      errors +=
          (errors.empty() ? "" : "; ") + c + " is not empty or is a mount point; left in place";
    }
  }
  if (!errors.empty()) return err(errors);
  if (::rmdir(dir.c_str()) != 0) return err("cannot remove " + dir + ": " + errno_text(errno));
  return ok();
}

}  // namespace batchai
