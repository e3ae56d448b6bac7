// agent.json (agent/config/daemon_config.hpp) and the storage settings it holds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/config/daemon_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  batchai::Diagnostics d;
  (void)batchai::parse_daemon_config(text, "agent.json", d);
  return 0;
}
