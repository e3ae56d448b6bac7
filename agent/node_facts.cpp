#include "agent/node_facts.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <memory>
#include <sstream>

#include "common/fs.hpp"
#include "heartbeat/gpu_inventory.hpp"

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
  for (const auto& g : read_gpu_inventory().gpus) {
    r.gpus.push_back({g.name, g.uuid, g.memory_bytes});
  }
  return r;
}

}  // namespace batchai
