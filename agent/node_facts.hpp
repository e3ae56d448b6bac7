// What a node tells the control plane about itself when it registers.
#pragma once

#include <string>

#include "protocol/messages.hpp"

namespace batchai {

protocol::RegisterRequest collect_node_facts(const std::string& cluster,
                                             const std::string& boot_id);

}  // namespace batchai
