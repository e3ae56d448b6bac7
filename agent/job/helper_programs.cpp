#include "agent/job/helper_programs.hpp"

#include <unistd.h>

#include "common/fs.hpp"

namespace batchai {

std::string agent_program() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string path = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  if (path.ends_with(" (deleted)")) path.resize(path.size() - 10);
  return path.empty() ? "/usr/sbin/batchai-agent" : path;
}

std::string helper_program(const std::string& name) {
  const std::string self = agent_program();
  const std::string dir = self.substr(0, self.rfind('/'));
  std::string beside = join_path(dir, name);
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  // The package: /usr/sbin/batchai-agent and /usr/libexec/batchai-agent/<name>.
  return join_path(dir.substr(0, dir.rfind('/')), "libexec/batchai-agent/" + name);
}

}  // namespace batchai
