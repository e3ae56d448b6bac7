#include "controlplane/nfs_paths.hpp"

#include <charconv>
#include <sstream>
#include <vector>

#include "common/fs.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxPathBytes = 4096;

bool whole(const std::string& text, int min, int max, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size() && out >= min &&
         out <= max;
}

// vers=3, vers=4, vers=4.N: the major version.
bool version_of(const std::string& value, int& version) {
  if (value == "3" || value == "3.0") {
    version = 3;
    return true;
  }
  if (value == "4" ||
      (value.starts_with("4.") && value.size() == 3 && value[2] >= '0' && value[2] <= '9')) {
    version = 4;
    return true;
  }
  return false;
}

std::string text_of(const json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_string()
             ? object[key].get<std::string>()
             : "";
}

// The held file server that volume's fileServer.id names (a resource id ending in
// /fileServers/<name>, or the bare name, as volumes.cpp resolves it), or none.
const FileServer* server_of(const json& volume, const FileServers* servers, std::string& name) {
  const std::string id = text_of(volume.value("fileServer", json()), "id");
  name = id.substr(id.rfind('/') + 1);
  if (servers == nullptr || name.empty()) return nullptr;
  auto it = servers->find(name);
  return it == servers->end() ? nullptr : &it->second;
}

// sourceDirectory's names, then path's: all plain NFS names.
std::optional<std::string> below_export(const json& volume, const std::string& path) {
  std::vector<std::string> names = split_path(text_of(volume, "sourceDirectory"));
  for (auto& name : split_path(path)) names.push_back(std::move(name));
  std::string out;
  for (const auto& name : names) {
    if (!is_nfs_name(name)) return std::nullopt;
    out += (out.empty() ? "" : "/") + name;
  }
  if (out.size() > kMaxPathBytes) return std::nullopt;
  return out;
}

std::variant<NfsDirectory, ApiError> locate_nfs(const json& volume, const std::string& path,
                                                const std::string& field,
                                                const FileServers* servers) {
  std::string name;
  const FileServer* held = server_of(volume, servers, name);
  if (held == nullptr) {
    return files_not_reachable(field,
                               "is on the file server \"" + name +
                                   "\", which is not one this control plane is configured with "
                                   "(--file-server)");
  }
  auto below = below_export(volume, path);
  if (!below) {
    return files_not_reachable(field,
                               "has a name below the export that is not a plain NFS name (no "
                               "\".\" or \"..\", at most 4096 bytes in all)");
  }
  auto options = nfs_client_options(text_of(volume, "mountOptions"));
  if (!options)
    return files_not_reachable(field,
                               "is on a file server volume whose " + options.error().message);
  // Never the document's mountSettings: the address and export are the configured ones.
  return NfsDirectory{held->internal_ip, held->mount_point, *below,
                      options->version,  options->port,     options->mount_port};
}

}  // namespace

Result<NfsClientOptions> nfs_client_options(const std::string& mount_options) {
  NfsClientOptions out;
  std::istringstream parts(mount_options);
  for (std::string opt; std::getline(parts, opt, ',');) {
    const auto eq = opt.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = opt.substr(0, eq), value = opt.substr(eq + 1);
    if ((name == "vers" || name == "nfsvers") && !version_of(value, out.version)) {
      return err("mountOptions: " + opt + " is not an NFS version the control plane reads (3, 4)");
    }
    if (name == "port" && !whole(value, 0, 65535, out.port)) {
      return err("mountOptions: " + opt + " is not a port");
    }
    if (name == "mountport" && !whole(value, 0, 65535, out.mount_port)) {
      return err("mountOptions: " + opt + " is not a port");
    }
  }
  return out;
}

std::optional<std::variant<NfsDirectory, ApiError>> nfs_directory(const std::string& text,
                                                                  const std::string& suffix,
                                                                  const std::string& field,
                                                                  const ShareVolumes& volumes,
                                                                  const FileServers* servers) {
  auto on = on_volume(text, suffix, field, volumes, "fileServers");
  if (!on) return std::nullopt;
  if (auto* e = std::get_if<ApiError>(&*on)) return *e;
  const auto& [volume, path] = std::get<OnVolume>(*on);
  return locate_nfs(*volume, path, field, servers);
}

}  // namespace batchai::cp
