#include "agent/daemon/membership.hpp"

#include <spdlog/spdlog.h>

#include "common/backoff.hpp"
#include "heartbeat/node_facts.hpp"

namespace batchai {

std::optional<protocol::RegisterResponse> register_node(
    ControlPlaneChannel& channel, const DaemonConfig& config, const std::string& boot_id,
    const PauseFn& pause, const std::function<void(const std::string&)>& status) {
  Backoff backoff;
  const std::string body =
      protocol::to_json(collect_node_facts(config.cluster, boot_id, BATCHAI_AGENT_VERSION)).dump();
  status("registering with " + config.control_plane_url);
  for (int attempt = 1;; ++attempt) {
    auto resp = channel.request("POST", "/v1/nodes/" + config.node_id + "/register", body,
                                config.request_timeout_seconds);
    std::int64_t floor_ms = 0;
    std::string why;
    bool unreachable = false;
    if (!resp) {
      why = resp.error().message;
      unreachable = resp.error().kind == ErrorKind::kUnreachable;
    } else if (resp->status == 200) {
      auto r = protocol::register_response_from(resp->body);
      if (r) {
        spdlog::info("registered with {} as node {} of cluster {}", config.control_plane_url,
                     config.node_id, config.cluster);
        return std::move(*r);
      }
      why = "bad response: " + r.error().message;
    } else {
      why = "the control plane answered " + std::to_string(resp->status);
      if (resp->retry_after_seconds) floor_ms = *resp->retry_after_seconds * 1000LL;
    }
    spdlog::warn("register: {}", why);
    status("registering with " + config.control_plane_url + " (attempt " + std::to_string(attempt) +
           ": " + why + ")");
    if (!pause(backoff.next_ms(floor_ms, unreachable))) return std::nullopt;
  }
}

bool say_node_gone(ControlPlaneChannel& channel, const DaemonConfig& config,
                   const std::string& leaving) {
  auto resp =
      channel.request("DELETE", "/v1/nodes/" + config.node_id, "", config.request_timeout_seconds);
  if (!resp || (resp->status != 204 && resp->status != 404)) {
    spdlog::warn("leaving: {}", resp ? "the control plane answered " + std::to_string(resp->status)
                                     : resp.error().message);
    return false;
  }
  spdlog::info("left the cluster ({})", leaving);
  return true;
}

}  // namespace batchai
