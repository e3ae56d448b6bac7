#include "mount/fuse_driver.hpp"

#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <memory>

#include "common/fs.hpp"
#include "common/time.hpp"

namespace batchai {

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

std::vector<UniqueFd> fuse_driver_processes(const std::string& mount_point) {
  std::vector<UniqueFd> out;
  std::unique_ptr<DIR, DirCloser> proc(::opendir("/proc"));
  if (!proc) return out;
  const std::string self = std::to_string(::getpid());
  while (dirent* e = ::readdir(proc.get())) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0])) || self == e->d_name) continue;
    auto cmdline = read_file(std::string("/proc/") + e->d_name + "/cmdline", 64 * 1024);
    if (!cmdline) continue;
    bool found = false;
    for (std::size_t at = 0; at < cmdline->size() && !found;) {
      std::size_t end = cmdline->find('\0', at);
      if (end == std::string::npos) end = cmdline->size();
      found = cmdline->compare(at, end - at, mount_point) == 0;
      at = end + 1;
    }
    if (!found) continue;
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(e->d_name), 0)));
    if (fd.valid()) out.push_back(std::move(fd));
  }
  return out;
}

bool wait_for_exit(const std::vector<UniqueFd>& pidfds, int timeout_ms) {
  const std::int64_t deadline = mono_ms() + timeout_ms;
  for (const auto& fd : pidfds) {
    for (;;) {
      std::int64_t left = deadline - mono_ms();
      if (left <= 0) return false;
      pollfd p{fd.get(), POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(left));
      if (n > 0) break;  // a pidfd is readable once its process has exited
      if (n < 0 && errno != EINTR) break;
    }
  }
  return true;
}

}  // namespace batchai
