// fileServers (reference §6): kernel NFS to <ip>:<mountPoint>[/<sourceDirectory>].
#include "mount/prepared_mount.hpp"

namespace batchai {

Result<PreparedMount> prepare_file_server(const MountVolume& v, const MountSite& site) {
  if (v.file_server_ip.empty() || v.file_server_export.empty()) {
    return err("the file server " + v.file_server_id +
               " has no address: the control plane resolves fileServer.id into "
               "fileServer.mountSettings {fileServerInternalIP, mountPoint}");
  }
  if (find_mount_helper("nfs").empty()) {
    return err("mount.nfs is not installed (Debian: apt-get install nfs-common)");
  }
  std::string path = v.file_server_export;
  if (v.source_directory && !v.source_directory->empty()) {
    std::string dir = *v.source_directory;
    while (!dir.empty() && dir.front() == '/') dir.erase(0, 1);
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    path += (path == "/" ? "" : "/") + dir;
  }
  PreparedMount p;
  const std::string host = v.file_server_ip.find(':') != std::string::npos
                               ? "[" + v.file_server_ip + "]"
                               : v.file_server_ip;
  std::string options = v.mount_options.value_or("");
  if (options.empty()) options = "rw";
  if (options.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=.,:+-") !=
      std::string::npos) {
    return err("mountOptions " + options + " is not a comma-separated list of mount options");
  }
  p.request = {host + ":" + path, site.target, "nfs", options + ",_netdev", ""};
  p.description = host + ":" + path + " (nfs, " + options + ")";
  return p;
}

}  // namespace batchai
