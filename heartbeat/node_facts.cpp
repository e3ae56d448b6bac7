#include "heartbeat/node_facts.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <memory>
#include <sstream>

#include "common/fs.hpp"
#include "heartbeat/gpu_inventory.hpp"

namespace batchai {

namespace {

// Each IPv4 address of the node with its interface's name.
std::vector<std::pair<std::string, std::string>> ipv4_interfaces() {
  std::vector<std::pair<std::string, std::string>> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) continue;
    out.emplace_back(buf, a->ifa_name != nullptr ? a->ifa_name : "");
  }
  ::freeifaddrs(list);
  return out;
}

std::vector<std::string> ipv4_addresses() {
  std::vector<std::string> out;
  for (const auto& [ip, name] : ipv4_interfaces()) {
    if (ip.rfind("127.", 0) != 0) out.push_back(ip);
  }
  if (out.empty()) out.push_back("127.0.0.1");
  return out;
}

std::int64_t online_cores() {
  return ::sysconf(_SC_NPROCESSORS_ONLN);
}

std::int64_t memory_bytes() {
  return static_cast<std::int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
}

}  // namespace

protocol::RegisterRequest collect_node_facts(const std::string& cluster, const std::string& boot_id,
                                             const std::string& agent_version) {
  protocol::RegisterRequest r;
  r.cluster = cluster;
  r.boot_id = boot_id;
  r.agent_version = agent_version;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  r.hostname = host;
  r.ip_addresses = ipv4_addresses();
  r.cores = online_cores();
  r.memory_bytes = memory_bytes();
  for (const auto& g : read_gpu_inventory().gpus) {
    r.gpus.push_back({g.name, g.uuid, g.memory_bytes});
  }
  return r;
}

nlohmann::json node_facts_now(const std::string& root) {
  nlohmann::json facts;
  facts["cores"] = online_cores();
  facts["memoryBytes"] = memory_bytes();
  // The root may not exist yet: the file system it will be on is its nearest ancestor's.
  struct statvfs vfs {};
  for (std::string dir = root; !dir.empty(); dir = dir == "/" ? ""
                                                   : dir.rfind('/') == 0
                                                       ? "/"
                                                       : dir.substr(0, dir.rfind('/'))) {
    if (::statvfs(dir.c_str(), &vfs) == 0) {
      facts["freeDiskBytes"] = static_cast<std::int64_t>(vfs.f_bavail) * vfs.f_frsize;
      break;
    }
  }
  double load[3] = {};
  if (::getloadavg(load, 3) == 3) facts["load"] = {load[0], load[1], load[2]};
  auto inv = read_gpu_inventory();
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : inv.gpus) {
    gpus.push_back({{"name", g.name},
                    {"uuid", g.uuid},
                    {"memoryBytes", g.memory_bytes},
                    {"eccUncorrected", g.ecc_uncorrected}});
  }
  facts["gpus"] = gpus;
  facts["gpuSource"] = inv.source;
  if (!inv.driver_version.empty()) facts["gpuDriver"] = inv.driver_version;
  if (!inv.error.empty()) facts["gpuError"] = inv.error;
  return facts;
}

std::string interface_with_address(const std::string& ip) {
  for (const auto& [address, name] : ipv4_interfaces()) {
    if (address == ip) return name;
  }
  return "";
}

std::vector<std::string> infiniband_devices(const std::string& dir) {
  std::vector<std::string> devices;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return devices;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string path = join_path(dir, e->d_name);
    struct stat st {};
    const std::string name = e->d_name;
    const bool rdma = name == "rdma_cm" || name.starts_with("uverbs");
    if (rdma && ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode)) {
      devices.push_back(path);
    }
  }
  std::sort(devices.begin(), devices.end());
  return devices;
}

}  // namespace batchai
