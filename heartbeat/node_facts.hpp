// What a node tells about itself: when it registers (the control plane schedules by it), and in
// the heartbeat and `batchai-agent status` (what changes: free disk, load, the GPUs' health).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace batchai {

protocol::RegisterRequest collect_node_facts(const std::string& cluster, const std::string& boot_id,
                                             const std::string& agent_version);

// The node's facts now: cores, memory, free disk under root, load, GPUs.
nlohmann::json node_facts_now(const std::string& root);

// The name of the network interface that holds the IPv4 address ip; "" when none does.
std::string interface_with_address(const std::string& ip);

// The node's InfiniBand devices that RDMA needs (the character devices uverbs* and rdma_cm in
// dir, /dev/infiniband; not umad* or issm*, the fabric's management), in name order; none on a
// node without the fabric.
std::vector<std::string> infiniband_devices(const std::string& dir = "/dev/infiniband");

}  // namespace batchai
