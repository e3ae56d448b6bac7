// The control plane's input from outside: a cluster's settings (PUT), its --file-server
// arguments, a file server volume's mountOptions, and a blob service's List Blobs answer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "controlplane/blob_list_xml.hpp"
#include "controlplane/clusters.hpp"
#include "controlplane/nfs_paths.hpp"
#include "controlplane/volumes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  (void)batchai::cp::parse_cluster_settings(body);
  std::string name, why;
  batchai::cp::FileServer server;
  (void)batchai::cp::parse_file_server(body, name, server, why);
  (void)batchai::cp::nfs_client_options(body);
  (void)batchai::cp::parse_blob_list(body);
  (void)batchai::cp::parse_rfc1123_ms(body);
  return 0;
}
