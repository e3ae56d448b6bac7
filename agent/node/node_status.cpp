#include "agent/node/node_status.hpp"

#include <cstdio>

#include "agent/config/daemon_config.hpp"
#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "heartbeat/node_facts.hpp"
#include "mount/mount_table.hpp"

namespace batchai {

using nlohmann::json;

int print_node_status(const std::string& config_path, bool json_output) {
  Diagnostics d;
  DaemonConfig config = load_daemon_config(config_path, d);
  if (d.has_errors()) {
    std::fprintf(stderr, "%s", Diagnostics::render(d.errors()).c_str());
    return 2;
  }
  json status;
  auto text = read_file(StateLayout(config.state_dir).node_status(), 4 << 20);
  if (text) {
    try {
      status = json::parse(*text);
    } catch (const json::exception&) {
      status = json::object();
    }
  }
  if (!status.is_object()) status = json::object();
  status["facts"] = node_facts_now(config.root);
  json mounts = json::array();
  if (auto m = mounts_at_or_below(mounts_and_jobs_root(config.root))) {
    for (auto it = m->rbegin(); it != m->rend(); ++it) mounts.push_back(*it);
  }
  status["mounts"] = mounts;
  if (json_output) {
    std::printf("%s\n", status.dump(2).c_str());
    return text ? 0 : 1;
  }
  std::printf("node %s, cluster %s\n", config.node_id.c_str(), config.cluster.c_str());
  std::printf(
      "state:   %s%s\n", status.value("nodeState", "unknown (no daemon status yet)").c_str(),
      status.contains("updated") ? (" (since " + status["updated"].get<std::string>() + ")").c_str()
                                 : "");
  if (status.contains("errors")) {
    for (const auto& e : status["errors"]) {
      std::printf("  error: %s: %s\n", e.value("code", "").c_str(), e.value("message", "").c_str());
    }
  }
  const json& f = status["facts"];
  std::printf("cores:   %lld, memory %.1f GiB, free disk %.1f GiB",
              static_cast<long long>(f.value("cores", 0)), f.value("memoryBytes", 0.0) / (1 << 30),
              f.value("freeDiskBytes", 0.0) / (1 << 30));
  if (f.contains("load")) std::printf(", load %.2f", f["load"][0].get<double>());
  std::printf("\nGPUs:    %zu (%s)\n", f["gpus"].size(), f.value("gpuSource", "none").c_str());
  for (const auto& g : f["gpus"]) {
    std::printf("  %s %s, %.1f GiB\n", g.value("uuid", "").c_str(), g.value("name", "").c_str(),
                g.value("memoryBytes", 0.0) / (1 << 30));
  }
  std::printf("mounts:  %zu\n", mounts.size());
  for (const auto& m : mounts) std::printf("  %s\n", m.get<std::string>().c_str());
  const json tasks = status.value("tasks", json::array());
  std::printf("tasks:   %zu\n", tasks.size());
  for (const auto& t : tasks) {
    std::printf("  %s: %s\n", t.value("taskId", "").c_str(), t.value("state", "").c_str());
  }
  return text ? 0 : 1;
}

}  // namespace batchai
