#include "exec/job_shell.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

namespace {

constexpr std::size_t kMaxEnvironmentFile = 8 << 20;

// sshd's own variables for the session: who connected, the command, the terminal.
constexpr const char* kSessionVariables[] = {"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY",
                                             "SSH_ORIGINAL_COMMAND", "TERM"};

int fail(const std::string& why) {
  std::fprintf(stderr, "batchai-agent job-shell: %s\n", why.c_str());
  return 126;
}

}  // namespace

int run_job_shell(const std::string& environment_file) {
  UniqueFd fd(::open(environment_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
    return fail("cannot open " + environment_file + ": " + errno_text(errno));
  }
  // It holds the job's secrets: only a root-only file the agent wrote is taken.
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
    return fail(environment_file + " is not a root-only regular file");
  }
  auto text = read_file("/proc/self/fd/" + std::to_string(fd.get()), kMaxEnvironmentFile);
  if (!text) return fail(text.error().message);
  std::vector<std::string> entries;
  std::size_t start = 0;
  for (std::size_t end; (end = text->find('\0', start)) != std::string::npos; start = end + 1) {
    entries.push_back(text->substr(start, end - start));
  }
  if (entries.empty()) return fail(environment_file + " holds no working directory");
  const std::string cwd = entries.front();
  entries.erase(entries.begin());
  for (const char* name : kSessionVariables) {
    if (const char* value = std::getenv(name)) entries.push_back(std::string(name) + "=" + value);
  }
  std::vector<char*> envp;
  envp.reserve(entries.size() + 1);
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (::chdir(cwd.c_str()) != 0) return fail("cannot enter " + cwd + ": " + errno_text(errno));
  const char* command = std::getenv("SSH_ORIGINAL_COMMAND");
  const std::string dir = environment_file.substr(0, environment_file.rfind('/') + 1);
  const bool serves_shared_temp = command && std::string(command) == kSharedJobTempSftpCommand;
  if (!serves_shared_temp && ::access((dir + "ready").c_str(), F_OK) != 0) {
    std::fprintf(stderr, "batchai-agent job-shell: this node's job preparation is not done\n");
    return 75;
  }
  std::string bash = "/bin/bash", dash_c = "-c", cmd = command ? command : "";
  std::vector<char*> argv = {bash.data()};
  if (command) {
    argv.push_back(dash_c.data());
    argv.push_back(cmd.data());
  }
  argv.push_back(nullptr);
  ::execve(bash.c_str(), argv.data(), envp.data());
  return fail("cannot run " + bash + ": " + errno_text(errno));
}

}  // namespace batchai
