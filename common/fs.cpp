#include "common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/unique_fd.hpp"

namespace batchai {

std::string errno_text(int err) {
  return std::strerror(err);
}

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return err("cannot open " + path + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return err("cannot stat " + path + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return err(path + " is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return err(path + " is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
               std::to_string(max_bytes));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err("cannot read " + path + ": " + errno_text(errno));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) return err(path + " is larger than " + std::to_string(max_bytes));
  }
  return out;
}

static Status write_all(int fd, const std::string& content, const std::string& what) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err("cannot write " + what + ": " + errno_text(errno));
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Status write_file_atomic(const std::string& path, const std::string& content, mode_t mode) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return err("cannot create " + tmp + ": " + errno_text(errno));
  if (::fchmod(fd.get(), mode) != 0) return err("cannot chmod " + tmp + ": " + errno_text(errno));
  if (auto s = write_all(fd.get(), content, tmp); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::fsync(fd.get()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return err("cannot fsync " + tmp + ": " + errno_text(e));
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return err("cannot rename " + tmp + " to " + path + ": " + errno_text(e));
  }
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return ok();
}

Status make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return err("empty directory path");
  std::string cur;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    pos = next + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return err("cannot create directory " + cur + ": " + errno_text(errno));
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return err(path + " exists and is not a directory");
  }
  return ok();
}

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// Removes the entries of the directory open as dirfd (on device dev); collects every failure.
void remove_entries(int dirfd, dev_t dev, const std::string& shown, std::string& errors) {
  int dup_fd = ::dup(dirfd);
  if (dup_fd < 0) {
    errors += "cannot read " + shown + ": " + errno_text(errno) + "; ";
    return;
  }
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dup_fd));
  if (!dir) {
    ::close(dup_fd);
    errors += "cannot read " + shown + ": " + errno_text(errno) + "; ";
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  for (const auto& name : names) {
    const std::string child = join_path(shown, name);
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) errors += "cannot stat " + child + ": " + errno_text(errno) + "; ";
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) {
        errors += child + " is a mount point; not removed; ";
        continue;
      }
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) {
        errors += "cannot open " + child + ": " + errno_text(errno) + "; ";
        continue;
      }
      std::string before = errors;
      remove_entries(sub.get(), dev, child, errors);
      if (errors != before) continue;  // something below stayed; so must this directory
      if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        errors += "cannot remove " + child + ": " + errno_text(errno) + "; ";
      }
    } else if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
      errors += "cannot remove " + child + ": " + errno_text(errno) + "; ";
    }
  }
}

Status finish(std::string errors) {
  if (errors.empty()) return ok();
  errors.resize(errors.size() - 2);  // drop the last "; "
  return err(errors);
}

}  // namespace

Status empty_dir_one_fs(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return ok();
    return err("cannot open " + dir + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return err("cannot stat " + dir + ": " + errno_text(errno));
  std::string errors;
  remove_entries(fd.get(), st.st_dev, dir, errors);
  return finish(std::move(errors));
}

Status remove_tree_one_fs(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();
    return err("cannot stat " + path + ": " + errno_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0) return err("cannot remove " + path + ": " + errno_text(errno));
    return ok();
  }
  // A directory that is itself a mount point has a different device than its parent.
  struct stat parent {};
  if (::stat((path + "/..").c_str(), &parent) == 0 && parent.st_dev != st.st_dev) {
    return err(path + " is a mount point; not removed");
  }
  if (auto s = empty_dir_one_fs(path); !s) return s;
  if (::rmdir(path.c_str()) != 0) return err("cannot remove " + path + ": " + errno_text(errno));
  return ok();
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::string out = a;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  std::size_t start = 0;
  while (start < b.size() && b[start] == '/') ++start;
  if (out != "/") out += '/';
  return out + b.substr(start);
}

}  // namespace batchai
