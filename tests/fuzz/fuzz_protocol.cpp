// The node <-> control plane messages (protocol/messages.hpp): what the agent reads from the
// control plane (registration answers, desired states) and the control plane from nodes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  using namespace batchai::protocol;
  if (auto m = desired_state_from(body)) (void)to_json(*m).dump();
  if (auto m = register_response_from(body)) (void)to_json(*m).dump();
  if (auto m = register_request_from(body)) (void)to_json(*m).dump();
  if (auto m = node_report_from(body)) (void)to_json(*m).dump();
  return 0;
}
