// A cluster's nodeSetup as registration hands it to the node (agent/node/node_setup.hpp).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/node/node_setup.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  try {
    // As the protocol reads it: depth-limited by the caller's nesting check.
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  (void)batchai::parse_node_setup(j);
  return 0;
}
