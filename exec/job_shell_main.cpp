// batchai-job-shell ENVIRONMENT-FILE: a session of a multi-node job's sshd (exec/job_shell.hpp).
#include <cstdio>

#include "exec/job_shell.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: batchai-job-shell ENVIRONMENT-FILE (sshd's ForceCommand)\n");
    return 2;
  }
  return batchai::run_job_shell(argv[1]);
}
