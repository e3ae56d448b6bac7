#include "exec/execution_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/time.hpp"
#include "common/unique_fd.hpp"
#include "exec/output_file.hpp"

namespace batchai {

void ExecutionLog::line(const std::string& text) const {
  if (path_.empty()) return;
  auto opened = open_for_append(path_, root_);
  if (!opened) return;
  UniqueFd fd = std::move(*opened);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  std::string out = iso8601_utc(wall_ms()) + " " + text;
  for (auto& c : out) {
    if (c == '\n') c = ' ';
  }
  out += '\n';
  // One write per line; a short write on a local file only happens when the disk is full.
  [[maybe_unused]] ssize_t n = ::write(fd.get(), out.data(), out.size());
}

}  // namespace batchai
