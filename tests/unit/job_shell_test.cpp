// batchai-job-shell's sessions (exec/job_shell.hpp), each run in a child as sshd would start it:
// the environment file's checks, the ready gate, the job's environment and working directory.
#include "exec/job_shell.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace batchai {
namespace {

struct Session {
  int status = -1;
  std::string output;  // stdout and stderr
};

class JobShellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // It takes only a root-owned environment file, as the agent writes it.
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/job-shell-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    env_file_ = dir_ + "/environment";
    write_environment({"FOO=from the job", "TERM=dumb"}, 0600);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    ::unlink(env_file_.c_str());
    ::unlink((dir_ + "/ready").c_str());
    ::rmdir(dir_.c_str());
  }

  void write_environment(const std::vector<std::string>& entries, mode_t mode) {
    std::string text = dir_ + '\0';  // the working directory first
    for (const auto& e : entries) text += e + '\0';
    std::ofstream(env_file_, std::ios::binary | std::ios::trunc) << text;
    ::chmod(env_file_.c_str(), mode);
  }

  // A session asking for command (nullptr: none), as sshd's ForceCommand runs it.
  Session run(const char* command) {
    int out[2];
    if (::pipe(out) != 0) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::close(out[0]);
      if (command) {
        ::setenv("SSH_ORIGINAL_COMMAND", command, 1);
      } else {
        ::unsetenv("SSH_ORIGINAL_COMMAND");
      }
      ::setenv("TERM", "xterm", 1);
      ::_exit(run_job_shell(env_file_));
    }
    ::close(out[1]);
    Session s;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) s.output.append(buf, n);
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    s.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return s;
  }

  std::string dir_, env_file_;
};

TEST_F(JobShellTest, UntilTheNodeIsReadyASessionIsRefused) {
  const Session s = run("echo ran");
  EXPECT_EQ(s.status, 75);
  EXPECT_NE(s.output.find("job preparation is not done"), std::string::npos) << s.output;
  EXPECT_EQ(s.output.find("ran"), std::string::npos);
}

TEST_F(JobShellTest, ASessionRunsInTheJobsEnvironmentAndDirectory) {
  std::ofstream(dir_ + "/ready");
  const Session s = run("echo \"$FOO|$PWD|$TERM\"; env | grep -c '^TERM='");
  EXPECT_EQ(s.status, 0) << s.output;
  // The session's TERM replaces the job's (one TERM), the job's variables are there.
  EXPECT_EQ(s.output, "from the job|" + dir_ + "|xterm\n1\n");
}

TEST_F(JobShellTest, AnEnvironmentFileOthersCanReadIsRefused) {
  std::ofstream(dir_ + "/ready");
  write_environment({"FOO=x"}, 0644);
  const Session s = run("echo ran");
  EXPECT_EQ(s.status, 126);
  EXPECT_NE(s.output.find("is not a root-only regular file"), std::string::npos) << s.output;
}

TEST_F(JobShellTest, AnExitStatusIsTheCommandsOwn) {
  std::ofstream(dir_ + "/ready");
  EXPECT_EQ(run("exit 7").status, 7);
}

}  // namespace
}  // namespace batchai
