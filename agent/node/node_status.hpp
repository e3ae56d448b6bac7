// `batchai-agent status`: what the node is doing, for an administrator on the node. The daemon
// writes <stateDir>/node-status.json (0600) whenever its report changes; the command reads it and
// adds what it can see itself (the node's facts, GPUs, mounts below the root).
#pragma once

#include <string>

namespace batchai {

// Prints the status; json_output prints it as JSON. Returns the exit status (1 when the daemon
// has never written one, 2 on a bad configuration).
int print_node_status(const std::string& config_path, bool json_output);

}  // namespace batchai
