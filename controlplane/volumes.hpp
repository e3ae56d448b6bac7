// Volumes as the control plane hands them to nodes: a cluster's nodeSetup.mountVolumes checked
// with the node's own rules, and every fileServers entry resolved from fileServer.id to the
// server's address and export (fileServer.mountSettings), as docs/mounts.md says the node
// expects them. The file servers this control plane knows come from --file-server.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace batchai::cp {

struct FileServer {
  std::string internal_ip;
  std::string mount_point;  // the export
};
using FileServers = std::map<std::string, FileServer>;  // by name

// "NAME=IP:/EXPORT" from the command line; an Error names what is wrong.
bool parse_file_server(const std::string& text, std::string& name, FileServer& server,
                       std::string& why);

// Fills in fileServer.mountSettings of mount_volumes (a mountVolumes object at path); a name
// that is not known is a problem. With check_rules, the volumes are also checked as the node
// will check them (cluster nodeSetup; job documents are checked whole elsewhere).
void resolve_volumes(nlohmann::json& mount_volumes, const std::string& path,
                     const FileServers& known, bool check_rules,
                     std::vector<std::string>& problems);

}  // namespace batchai::cp
