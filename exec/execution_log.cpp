#include "exec/execution_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/time.hpp"

namespace batchai {

ExecutionLog::ExecutionLog(const std::string& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}

void ExecutionLog::line(const std::string& text) {
  if (!fd_.valid()) return;
  std::string out = iso8601_utc(wall_ms()) + " " + text;
  for (auto& c : out) {
    if (c == '\n') c = ' ';
  }
  out += '\n';
  // One write per line; a short write on a local file only happens when the disk is full.
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), out.data(), out.size());
}

}  // namespace batchai
