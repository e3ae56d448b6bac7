// batchai-job-shell ENVIRONMENT-FILE: a session of a multi-node job's sshd (exec/job_shell.hpp);
// --find-sftp-server: the agent's check that an image can serve the shared job temp.
#include <cstdio>
#include <cstring>

#include "exec/job_shell.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: batchai-job-shell ENVIRONMENT-FILE (sshd's ForceCommand)\n"
                 "       batchai-job-shell --find-sftp-server\n");
    return 2;
  }
  if (std::strcmp(argv[1], "--find-sftp-server") == 0) return batchai::find_sftp_server_command();
  return batchai::run_job_shell(argv[1]);
}
