#include "agent/node_facts.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <memory>
#include <sstream>

#include "common/fs.hpp"

namespace batchai {

namespace {

std::vector<std::string> ipv4_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {"127.0.0.1"};
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) continue;
    std::string ip = buf;
    if (ip.rfind("127.", 0) != 0) out.push_back(ip);
  }
  ::freeifaddrs(list);
  if (out.empty()) out.push_back("127.0.0.1");
  return out;
}

// The NVIDIA driver's /proc/driver/nvidia/gpus/<bus>/information: "Model:" and "GPU UUID:".
std::vector<protocol::Gpu> gpus() {
  std::vector<protocol::Gpu> out;
  const std::string root = "/proc/driver/nvidia/gpus";
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(root.c_str()), ::closedir);
  if (!dir) return out;
  while (dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] == '.') continue;
    protocol::Gpu g;
    auto info = read_file(join_path(join_path(root, e->d_name), "information"), 65536);
    std::istringstream lines(info ? *info : "");
    for (std::string line; std::getline(lines, line);) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon), value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      if (key == "Model") g.name = value;
      if (key == "GPU UUID") g.uuid = value;
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

protocol::RegisterRequest collect_node_facts(const std::string& cluster,
                                             const std::string& boot_id) {
  protocol::RegisterRequest r;
  r.cluster = cluster;
  r.boot_id = boot_id;
  r.agent_version = BATCHAI_AGENT_VERSION;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  r.hostname = host;
  r.ip_addresses = ipv4_addresses();
  r.cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  r.memory_bytes = static_cast<std::int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
  r.gpus = gpus();
  return r;
}

}  // namespace batchai
