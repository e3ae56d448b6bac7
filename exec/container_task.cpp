#include "exec/container_task.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "exec/docker_engine.hpp"

extern char** environ;

namespace batchai {

int run_container_task(const std::string& socket, const std::string& container,
                       const std::string& workdir, const std::vector<std::string>& argv) {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stops, nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  // A stop request goes to the container's PID 1, which passes it on to every process there;
  // the command's output keeps coming until it has exited.
  std::thread relay([socket, container, stops] {
    int sig = 0;
    if (sigwait(&stops, &sig) != 0) return;
    DockerEngine engine(socket);
    auto r = engine.request(
        "POST", "/containers/" + container + "/kill?signal=" + (sig == SIGINT ? "INT" : "TERM"));
    if (!r || (r->status != 204 && r->status != 409)) {
      std::fprintf(stderr, "batchai-agent: cannot stop the container %s: %s\n", container.c_str(),
                   r ? engine_message(*r).c_str() : r.error().message.c_str());
    }
  });
  relay.detach();
  DockerEngine engine(socket);
  auto code = engine.exec(container, argv, env, workdir, 1, 2, nullptr);
  if (!code) {
    std::fprintf(stderr, "batchai-agent: cannot run %s in the container %s: %s\n",
                 argv.empty() ? "" : argv[0].c_str(), container.c_str(),
                 code.error().message.c_str());
    return 125;
  }
  return *code;
}

}  // namespace batchai
