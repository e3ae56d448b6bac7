#include "agent/job/gang.hpp"

#include <algorithm>

namespace batchai {

std::int64_t slots_per_node(std::int64_t processes, std::int64_t nodes) {
  if (nodes <= 0) return processes;
  return std::max<std::int64_t>(1, (processes + nodes - 1) / nodes);
}

RankBlock ranks_on_node(std::int64_t processes, std::int64_t nodes, std::int64_t node) {
  const std::int64_t per_node = slots_per_node(processes, nodes);
  const std::int64_t first = std::min(processes, node * per_node);
  return {first, std::min(processes, first + per_node) - first};
}

std::vector<TensorFlowTask> place_tensorflow(std::int64_t workers, std::int64_t parameter_servers,
                                             const std::vector<std::string>& hosts) {
  const auto nodes = static_cast<std::int64_t>(hosts.size());
  std::vector<int> next_port(hosts.size(), 2222);
  std::vector<TensorFlowTask> tasks;
  auto place = [&](bool ps, std::int64_t index) {
    const std::int64_t node = nodes > 0 ? index % nodes : 0;
    const auto n = static_cast<std::size_t>(node);
    tasks.push_back({ps, index, node, hosts[n] + ":" + std::to_string(next_port[n]++)});
  };
  for (std::int64_t i = 0; i < workers; ++i) place(false, i);
  for (std::int64_t i = 0; i < parameter_servers; ++i) place(true, i);
  return tasks;
}

std::string mpi_hostfile(const std::vector<std::string>& hosts, std::int64_t slots) {
  std::string text;
  for (const auto& h : hosts) text += h + " slots=" + std::to_string(slots) + "\n";
  return text;
}

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string host_list(const std::vector<std::string>& hosts) {
  std::string text;
  for (const auto& h : hosts) text += (text.empty() ? "" : ",") + h;
  return text;
}

}  // namespace batchai
