#include "exec/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/beneath.hpp"
#include "common/fs.hpp"

namespace batchai {

Result<UniqueFd> open_for_append(const std::string& path, const std::string& root) {
  // O_NONBLOCK: a FIFO planted in place of the file fails instead of blocking the supervisor.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  if (!root.empty() && path_below(root, path)) {
    auto fd = open_below(root, path, kFlags, 0644);
    if (!fd) return err("cannot open " + path + ": " + fd.error().message);
    return fd;
  }
  UniqueFd fd(::open(path.c_str(), kFlags, 0644));
  if (!fd.valid()) return err("cannot open " + path + ": " + errno_text(errno));
  return fd;
}

Result<OutputFile> OutputFile::open(const std::string& path, const std::string& root) {
  auto opened = open_for_append(path, root);
  if (!opened) return opened.error();
  UniqueFd fd = std::move(*opened);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return err("cannot use " + path + ": not a regular file");
  }
  ::fcntl(fd.get(), F_SETFL, O_APPEND);  // blocking writes again: back-pressure, not loss
  return OutputFile(std::move(fd), path);
}

Status OutputFile::append(const char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd_.get(), data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err("cannot write " + path_ + ": " + errno_text(errno));
    done += static_cast<std::size_t>(n);
  }
  dirty_ = dirty_ || size > 0;
  return ok();
}

void OutputFile::sync_if_dirty() {
  if (!dirty_) return;
  ::fdatasync(fd_.get());
  dirty_ = false;
}

}  // namespace batchai
