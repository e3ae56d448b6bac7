// fileServers (reference §6): kernel NFS to <ip>:<mountPoint>[/<sourceDirectory>].
#include "jobspec/mount_options.hpp"
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
  // Checked again where they are used: the allow-list is the only way in (jobspec/mount_options).
  auto checked = nfs_mount_options(v.mount_options.value_or(""));
  if (!checked) return checked.error();
  std::string options;
  for (const auto& o : *checked) options += (options.empty() ? "" : ",") + o;
  // A file server's setuid programs and device files are not the node's.
  options += ",nosuid,nodev";
  p.request = {host + ":" + path, site.target, "nfs", options + ",_netdev", ""};
  p.description = host + ":" + path + " (nfs, " + options + ")";
  return p;
}

}  // namespace batchai
