#include "controlplane/volumes.hpp"

#include "common/diagnostics.hpp"
#include "common/text_pattern.hpp"
#include "jobspec/volume_parser.hpp"

namespace batchai::cp {

using nlohmann::json;

bool parse_file_server(const std::string& text, std::string& name, FileServer& server,
                       std::string& why) {
  static const TextPattern re(
      R"(([-\w]{1,64})=([A-Za-z0-9.:-]{1,253}):(/[A-Za-z0-9._/@+-]{0,1000}))");
  std::vector<std::string> m;
  if (!re.full_match(text, &m)) {
    why = "\"" + text + "\" is not NAME=IP:/EXPORT (e.g. nfs1=10.0.0.4:/mnt/data)";
    return false;
  }
  name = m[0];
  server = {m[1], m[2]};
  return true;
}

void resolve_volumes(json& mount_volumes, const std::string& path, const FileServers& known,
                     bool check_rules, std::vector<std::string>& problems) {
  if (!mount_volumes.is_object()) return;
  if (check_rules) {
    Diagnostics d;
    json holder = {{"mountVolumes", mount_volumes}};
    JsonReader r(holder, path.substr(0, path.rfind('.')), d);
    std::vector<MountVolume> volumes;
    read_mount_volumes(r, volumes, d);
    for (const auto& e : d.errors()) problems.push_back(e.path + ": " + e.message);
  }
  if (!mount_volumes.contains("fileServers") || !mount_volumes["fileServers"].is_array()) return;
  auto& list = mount_volumes["fileServers"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    json& fs = list[i]["fileServer"];
    if (!fs.is_object() || !fs.contains("id") || !fs["id"].is_string()) continue;  // parser said
    const std::string id = fs["id"];
    // Batch AI's ids are resource ids ending in /fileServers/<name>; a bare name works too.
    const std::string name = id.substr(id.rfind('/') + 1);
    auto it = known.find(name);
    if (it == known.end()) {
      std::string names;
      for (const auto& [n, _] : known) names += (names.empty() ? "" : ", ") + n;
      problems.push_back(path + ".fileServers[" + std::to_string(i) + "].fileServer.id: no file " +
                         "server named \"" + name +
                         "\" (known: " + (names.empty() ? "none; see --file-server" : names) + ")");
      continue;
    }
    fs["mountSettings"] = {{"fileServerInternalIP", it->second.internal_ip},
                           {"mountPoint", it->second.mount_point},
                           {"fileServerType", "nfs"}};
  }
}

}  // namespace batchai::cp
