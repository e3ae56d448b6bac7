#include "exec/peer_wait.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/child_process.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"

namespace batchai {

namespace {

constexpr int kTryEveryMs = 1000;

// One `ssh -o ConnectTimeout=5 HOST true`, quiet: whether it succeeded.
bool answers(const std::string& ssh, const std::string& host) {
  return run_to_end({ssh, "-o", "ConnectTimeout=5", host, "true"}) == 0;
}

}  // namespace

int wait_for_peers_then_exec(const std::string& ssh, const std::vector<std::string>& hosts,
                             std::int64_t timeout_s, const std::vector<std::string>& command) {
  if (command.empty()) return 2;
  const std::int64_t deadline = mono_ms() + timeout_s * 1000;
  std::vector<std::string> waiting = hosts;
  if (!waiting.empty()) {
    std::fprintf(stderr, "batchai-agent: waiting for the job's other %zu node(s) to be ready\n",
                 waiting.size());
  }
  while (!waiting.empty()) {
    std::vector<std::string> still;
    for (const auto& h : waiting) {
      if (!answers(ssh, h)) still.push_back(h);
    }
    waiting = std::move(still);
    if (waiting.empty()) break;
    if (mono_ms() >= deadline) {
      std::string list;
      for (const auto& h : waiting) list += (list.empty() ? "" : ", ") + h;
      std::fprintf(stderr,
                   "batchai-agent: the job's node(s) %s were not ready within %lld s (their job "
                   "preparation not done, or their sshd not answering); the job does not start\n",
                   list.c_str(), static_cast<long long>(timeout_s));
      return 1;
    }
    ::usleep(kTryEveryMs * 1000);
  }
  std::vector<std::string> copy = command;
  std::vector<char*> argv;
  argv.reserve(copy.size() + 1);
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "batchai-agent: cannot run %s: %s\n", command[0].c_str(),
               errno_text(errno).c_str());
  return 127;
}

}  // namespace batchai
