#include "exec/process_tree.hpp"

#include <dirent.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <memory>

#include "common/fs.hpp"

namespace batchai {

namespace {

// The parent pid from /proc/<pid>/stat; the command name may hold spaces and parentheses, so
// parse after the last ')'.
pid_t parent_of(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return -1;
  auto close = stat->rfind(')');
  if (close == std::string::npos || close + 4 > stat->size()) return -1;
  // ") S ppid ..."
  return static_cast<pid_t>(std::strtol(stat->c_str() + close + 4, nullptr, 10));
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

std::vector<pid_t> list_descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  std::unique_ptr<DIR, DirCloser> proc(::opendir("/proc"));
  if (!proc) return {};
  while (dirent* e = ::readdir(proc.get())) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) continue;
    pid_t parent = parent_of(static_cast<pid_t>(pid));
    if (parent > 0) children.emplace(parent, static_cast<pid_t>(pid));
  }
  std::vector<pid_t> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto [lo, hi] = children.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

int signal_descendants(pid_t root, int sig) {
  int count = 0;
  for (pid_t pid : list_descendants(root)) {
    if (::kill(pid, sig) == 0) ++count;
  }
  return count;
}

std::uint64_t process_start_ticks(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return 0;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  // Fields after ")": state is field 3; starttime is field 22.
  const char* p = stat->c_str() + close + 2;
  for (int field = 3; field < 22 && *p; ++field) {
    while (*p && *p != ' ') ++p;
    while (*p == ' ') ++p;
  }
  return std::strtoull(p, nullptr, 10);
}

std::string boot_id() {
  auto id = read_file("/proc/sys/kernel/random/boot_id", 128);
  if (!id) return "";
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace batchai
