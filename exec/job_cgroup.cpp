#include "exec/job_cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

Result<std::string> own_cgroup_dir() {
  auto mounts = read_file("/proc/self/mountinfo", 1 << 20);
  if (!mounts) return mounts.error();
  std::string mount_point;
  std::istringstream lines(*mounts);
  for (std::string line; std::getline(lines, line);) {
    // "... <mount point> <options> [optional fields] - <fstype> <source> <super options>"
    auto dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line);
    std::string f;
    for (int i = 0; i < 5 && fields >> f; ++i) {
    }
    mount_point = f;
    break;
  }
  if (mount_point.empty()) return err("no cgroup v2 hierarchy is mounted");
  auto self = read_file("/proc/self/cgroup", 1 << 16);
  if (!self) return self.error();
  std::istringstream entries(*self);
  for (std::string line; std::getline(entries, line);) {
    if (line.rfind("0::", 0) == 0) return join_path(mount_point, line.substr(3));
  }
  return err("this process has no cgroup v2 path");
}

Result<JobCgroup> JobCgroup::create(const std::string& parent, const std::string& name) {
  std::string dir = join_path(parent, name);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return err("cannot create cgroup " + dir + ": " + errno_text(errno));
  }
  if (::access((dir + "/cgroup.procs").c_str(), W_OK) != 0) {
    return err("cgroup " + dir + " is not writable: " + errno_text(errno));
  }
  return JobCgroup(dir);
}

std::vector<pid_t> JobCgroup::pids() const {
  std::vector<pid_t> out;
  auto text = read_file(procs_file(), 1 << 22);
  if (!text) return out;
  std::istringstream in(*text);
  for (long pid; in >> pid;) out.push_back(static_cast<pid_t>(pid));
  return out;
}

bool JobCgroup::populated() const {
  auto events = read_file(dir_ + "/cgroup.events", 4096);
  if (!events) return !pids().empty();
  return events->find("populated 1") != std::string::npos;
}

void JobCgroup::kill_all() const {
  UniqueFd fd(::open((dir_ + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.valid() && ::write(fd.get(), "1", 1) == 1) return;
  for (pid_t pid : pids()) ::kill(pid, SIGKILL);
}

Status JobCgroup::remove() const {
  if (::rmdir(dir_.c_str()) != 0 && errno != ENOENT) {
    return err("cannot remove cgroup " + dir_ + ": " + errno_text(errno));
  }
  return ok();
}

}  // namespace batchai
