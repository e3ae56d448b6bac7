#include "exec/peer_wait.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/fs.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

namespace {

constexpr int kTryEveryMs = 250;

// One connection attempt, at most kTryEveryMs: whether something accepted it.
bool accepts(const std::string& host, int port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *v6;
  } else {
    return false;
  }
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, kTryEveryMs) != 1) return false;
  int error = 0;
  socklen_t size = sizeof error;
  return ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
}

}  // namespace

int wait_for_peers_then_exec(const std::vector<std::string>& hosts, int port,
                             std::int64_t timeout_s, const std::vector<std::string>& command) {
  if (command.empty()) return 2;
  const std::int64_t deadline = mono_ms() + timeout_s * 1000;
  std::vector<std::string> waiting = hosts;
  if (!waiting.empty()) {
    std::fprintf(stderr,
                 "batchai-agent: waiting for the job's other %zu node(s) to answer on "
                 "port %d\n",
                 waiting.size(), port);
  }
  while (!waiting.empty()) {
    std::vector<std::string> still;
    for (const auto& h : waiting) {
      if (!accepts(h, port)) still.push_back(h);
    }
    waiting = std::move(still);
    if (waiting.empty()) break;
    if (mono_ms() >= deadline) {
      std::string list;
      for (const auto& h : waiting)
        list += (list.empty() ? "" : ", ") + h + ":" + std::to_string(port);
      std::fprintf(stderr,
                   "batchai-agent: the job's node(s) %s did not answer within %lld s; "
                   "the job does not start\n",
                   list.c_str(), static_cast<long long>(timeout_s));
      return 1;
    }
    ::usleep(kTryEveryMs * 1000);
  }
  std::vector<char*> argv;
  std::vector<std::string> copy = command;
  argv.reserve(copy.size() + 1);
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "batchai-agent: cannot run %s: %s\n", command[0].c_str(),
               errno_text(errno).c_str());
  return 127;
}

}  // namespace batchai
