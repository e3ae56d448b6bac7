// The control plane's request bodies: a cluster's settings (PUT), its --file-server arguments.
#include <cstddef>
#include <cstdint>
#include <string>

#include "controlplane/clusters.hpp"
#include "controlplane/volumes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  (void)batchai::cp::parse_cluster_settings(body);
  std::string name, why;
  batchai::cp::FileServer server;
  (void)batchai::cp::parse_file_server(body, name, server, why);
  return 0;
}
