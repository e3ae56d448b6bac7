#include "exec/job_shell.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace batchai {

namespace {

// Linked statically and run in images of any distribution: libc and the standard library only.
constexpr std::size_t kMaxEnvironmentFile = 8 << 20;

// sshd's own variables for the session: who connected, the command, the terminal.
constexpr const char* kSessionVariables[] = {"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY",
                                             "SSH_ORIGINAL_COMMAND", "TERM"};

// OpenSSH's sftp server where the distributions put it: Debian and Ubuntu, Fedora and RHEL,
// Arch, Alpine.
constexpr const char* kSftpServers[] = {"/usr/lib/openssh/sftp-server",
                                        "/usr/libexec/openssh/sftp-server",
                                        "/usr/lib/ssh/sftp-server", "/usr/libexec/sftp-server"};

// The environment file's descriptor, closed on every way out.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// NAME=VALUE set in entries: replaced where NAME is there already, else added.
void set_entry(std::vector<std::string>& entries, const std::string& name, const char* value) {
  const std::string entry = name + "=" + value;
  for (auto& e : entries) {
    if (e.compare(0, name.size() + 1, name + "=") == 0) {
      e = entry;
      return;
    }
  }
  entries.push_back(entry);
}

int fail(const std::string& why) {
  std::fprintf(stderr, "batchai-job-shell: %s\n", why.c_str());
  return 126;
}

std::string errno_words(int err) {
  return std::strerror(err);
}

// The file's entries, each ended by a NUL; false (with why) when it cannot be read whole.
bool read_entries(int fd, std::vector<std::string>& entries, std::string& why) {
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = errno_words(errno);
      return false;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxEnvironmentFile) {
      why = "it is larger than " + std::to_string(kMaxEnvironmentFile) + " bytes";
      return false;
    }
  }
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\0', start)) != std::string::npos; start = end + 1) {
    entries.push_back(text.substr(start, end - start));
  }
  return true;
}

const char* value_in(const std::vector<std::string>& entries, const std::string& name) {
  for (const auto& e : entries) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.c_str() + name.size() + 1;
    }
  }
  return nullptr;
}

// The sftp server for the shared job temp, started in it; returns only on failure.
int serve_shared_job_temp(const std::vector<std::string>& entries, std::vector<char*>& envp) {
  const char* dir = value_in(entries, "AZ_BATCHAI_SHARED_JOB_TEMP");
  if (dir == nullptr) return fail("the job's environment names no AZ_BATCHAI_SHARED_JOB_TEMP");
  const char* server = sftp_server_path();
  if (server == nullptr) {
    return fail(
        "no OpenSSH sftp server here (/usr/lib/openssh/sftp-server and the like): the "
        "job's other nodes cannot mount the shared job temp");
  }
  std::string program = server, flag = "-d", where = dir;
  std::vector<char*> argv = {program.data(), flag.data(), where.data(), nullptr};
  ::execve(server, argv.data(), envp.data());
  return fail("cannot run " + program + ": " + errno_words(errno));
}

}  // namespace

const char* sftp_server_path() {
  for (const char* server : kSftpServers) {
    if (::access(server, X_OK) == 0) return server;
  }
  return nullptr;
}

int find_sftp_server_command() {
  if (const char* server = sftp_server_path()) {
    std::printf("%s\n", server);
    return 0;
  }
  std::fprintf(stderr, "batchai-job-shell: no OpenSSH sftp server (looked for");
  for (const char* server : kSftpServers) std::fprintf(stderr, " %s", server);
  std::fprintf(stderr, ")\n");
  return 1;
}

int run_job_shell(const std::string& environment_file) {
  const FileDescriptor fd(::open(environment_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
    return fail("cannot open " + environment_file + ": " + errno_words(errno));
  }
  // It holds the job's secrets: only a root-only file the agent wrote is taken.
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
    return fail(environment_file + " is not a root-only regular file");
  }
  std::vector<std::string> entries;
  std::string why;
  const bool read_whole = read_entries(fd.get(), entries, why);
  if (!read_whole) return fail("cannot read " + environment_file + ": " + why);
  if (entries.empty()) return fail(environment_file + " holds no working directory");
  const std::string cwd = entries.front();
  entries.erase(entries.begin());
  for (const char* name : kSessionVariables) {
    if (const char* value = std::getenv(name)) set_entry(entries, name, value);
  }
  std::vector<char*> envp;
  envp.reserve(entries.size() + 1);
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (::chdir(cwd.c_str()) != 0) return fail("cannot enter " + cwd + ": " + errno_words(errno));
  const char* command = std::getenv("SSH_ORIGINAL_COMMAND");
  if (command != nullptr && (std::strcmp(command, kSharedJobTempSftpCommand) == 0 ||
                             std::strcmp(command, kLegacySharedJobTempSftpCommand) == 0)) {
    return serve_shared_job_temp(entries, envp);
  }
  const std::string dir = environment_file.substr(0, environment_file.rfind('/') + 1);
  if (::access((dir + "ready").c_str(), F_OK) != 0) {
    std::fprintf(stderr, "batchai-job-shell: this node's job preparation is not done\n");
    return 75;
  }
  // Batch AI's images carry bash; an image without it still gets a POSIX shell. bash started
  // by sshd reads ~/.bashrc even for a command: --norc keeps the session's environment the
  // job's, as the node's own tasks have it (a root .bashrc would put its own PATH first).
  const bool bash = ::access("/bin/bash", X_OK) == 0;
  std::string shell = bash ? "/bin/bash" : "/bin/sh";
  std::string norc = "--norc", dash_c = "-c", cmd = command ? command : "";
  std::vector<char*> argv = {shell.data()};
  if (bash) argv.push_back(norc.data());
  if (command) {
    argv.push_back(dash_c.data());
    argv.push_back(cmd.data());
  }
  argv.push_back(nullptr);
  ::execve(shell.c_str(), argv.data(), envp.data());
  return fail("cannot run " + shell + ": " + errno_words(errno));
}

}  // namespace batchai
