// The node's membership of its cluster: it registers (again after a configuration change), and
// once scaled down it tells the control plane it is gone (docs/protocol.md).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/control_plane_channel.hpp"
#include "protocol/messages.hpp"

namespace batchai {

// Waits up to ms between attempts, serving the watchdog meanwhile; false when the agent stops.
using PauseFn = std::function<bool(std::int64_t ms)>;

// Registers with the node's facts, with backoff (and the control plane's Retry-After) until the
// control plane accepts; none when the agent stops first. `status` says each attempt to systemd.
std::optional<protocol::RegisterResponse> register_node(
    ControlPlaneChannel& channel, const DaemonConfig& config, const std::string& boot_id,
    const PauseFn& pause, const std::function<void(const std::string&)>& status);

// DELETE of the node, once it has left: whether the control plane has it (204, or 404 for a
// node it forgot already).
bool say_node_gone(ControlPlaneChannel& channel, const DaemonConfig& config,
                   const std::string& leaving);

}  // namespace batchai
