// batchai-pause: PID 1 of a job's container (bind-mounted in at /.batchai/pause, static, so any
// image runs it). The job's steps run beside it through the engine's exec; it reaps what they
// leave behind and, on SIGTERM (the engine's stop), passes the signal to every process in the
// container and exits once they are gone.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

int main() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  bool stopping = false;
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGTERM || sig == SIGINT) {
      stopping = true;
      kill(-1, SIGTERM);  // every process of the container but this one
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (stopping && kill(-1, 0) != 0 && errno == ESRCH) return 0;
  }
}
