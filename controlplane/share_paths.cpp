#include "controlplane/share_paths.hpp"

#include <charconv>
#include <vector>

#include "common/fs.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

// The rest of text after $NAME or ${NAME} at its start ("" or "/..."), or none.
std::optional<std::string> after_root(const std::string& text, const std::string& name) {
  for (const std::string& form : {"$" + name, "${" + name + "}"}) {
    if (!text.starts_with(form)) continue;
    const std::string rest = text.substr(form.size());
    if (rest.empty() || rest[0] == '/') return rest;
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}

// The volume of kind (azureFileShares, azureBlobFileSystems) mounted at the first components of
// rest, and how many it takes.
const json* volume_at(const json& volumes, const char* kind, const std::vector<std::string>& rest,
                      std::size_t& taken) {
  if (!volumes.is_object() || !volumes.contains(kind) || !volumes[kind].is_array()) {
    return nullptr;
  }
  for (const auto& v : volumes[kind]) {
    if (!v.is_object() || !v.contains("relativeMountPath") || !v["relativeMountPath"].is_string()) {
      continue;
    }
    const auto mount = split_path(v["relativeMountPath"].get<std::string>());
    if (mount.empty() || mount.size() > rest.size()) continue;
    if (std::equal(mount.begin(), mount.end(), rest.begin())) {
      taken = mount.size();
      return &v;
    }
  }
  return nullptr;
}

// smb://HOST[:PORT][/] into host and port.
bool parse_smb_endpoint(const std::string& url, std::string& host, int& port) {
  if (!url.starts_with("smb://")) return false;
  std::string rest = url.substr(6);
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  const auto colon = rest.rfind(':');
  host = rest.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string p = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || port < 1 || port > 65535) {
      return false;
    }
  }
  return !host.empty();
}

// The host, the account and the share of azureFileUrl https://<account>.<suffix>/<share>.
bool parse_file_url(const std::string& url, std::string& host, std::string& account,
                    std::string& share) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) return false;
  const std::string rest = url.substr(url.find("://") + 3);
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return false;
  host = rest.substr(0, slash);
  account = host.substr(0, host.find('.'));
  const auto parts = split_path(rest.substr(slash + 1));
  if (parts.size() != 1) return false;
  share = parts[0];
  return !account.empty();
}

std::variant<SmbDirectory, ApiError> locate(const json& volume, const std::string& path,
                                            const std::string& field,
                                            const StorageAccounts* accounts) {
  std::string host, account, share;
  const std::string url = volume.value("azureFileUrl", "");
  if (!parse_file_url(url, host, account, share)) {
    return files_not_reachable(field,
                               "is on a share whose azureFileUrl is not https://<account>.file."
                               "<suffix>/<share>");
  }
  if (volume.contains("accountName") && volume["accountName"].is_string()) {
    account = volume["accountName"].get<std::string>();
  }
  const StorageAccount* held = accounts != nullptr ? accounts->find(account) : nullptr;
  if (held == nullptr) {
    return files_not_reachable(field, "is on the share " + share + " of the storage account " +
                                          account +
                                          ", which is not one this control plane holds "
                                          "(--storage-accounts)");
  }
  SmbDirectory d;
  d.share = share;
  d.path = path;
  d.user = held->name;
  d.password = held->key;
  // Never the document's host: the account's key goes only to the account's own endpoint.
  d.host = held->name + ".file.core.windows.net";
  if (!held->file_endpoint.empty() && !parse_smb_endpoint(held->file_endpoint, d.host, d.port)) {
    return files_not_reachable(field, "is on the storage account " + account +
                                          ", whose fileEndpoint is not smb://HOST[:PORT]/");
  }
  return d;
}

std::string text_of(const json& volume, const char* key) {
  return volume.contains(key) && volume[key].is_string() ? volume[key].get<std::string>() : "";
}

// The blob service URL of a held account, without its trailing '/'; "" when it is not http(s).
std::string blob_endpoint(const StorageAccount& held) {
  std::string url = held.blob_endpoint.empty() ? "https://" + held.name + ".blob.core.windows.net"
                                               : held.blob_endpoint;
  while (url.ends_with('/')) url.pop_back();
  const bool web = url.starts_with("https://") || url.starts_with("http://");
  if (!web || url.find_first_of("?#@ ") != std::string::npos) return "";
  return url;
}

std::variant<BlobDirectory, ApiError> locate_blob(const json& volume, const std::string& path,
                                                  const std::string& field,
                                                  const StorageAccounts* accounts) {
  const std::string account = text_of(volume, "accountName");
  const std::string container = text_of(volume, "containerName");
  if (!is_container_name(container)) {
    return files_not_reachable(field,
                               "is on a blob volume whose containerName is not a container name");
  }
  const StorageAccount* held = accounts != nullptr ? accounts->find(account) : nullptr;
  if (held == nullptr) {
    return files_not_reachable(field, "is in the container " + container +
                                          " of the storage account " + account +
                                          ", which is not one this control plane holds "
                                          "(--storage-accounts)");
  }
  if (path.size() > 1024) return files_not_reachable(field, "is over 1024 bytes in the container");
  for (const auto& name : split_path(path)) {
    if (!is_blob_name(name))
      return files_not_reachable(field, "has a name no blob path of a job has");
  }
  // Never a host of the document: the account's key signs only for its own endpoint.
  BlobDirectory d{blob_endpoint(*held), held->name, held->key, container, path};
  if (d.endpoint.empty()) {
    return files_not_reachable(field,
                               "is on the storage account " + account +
                                   ", whose blobEndpoint is not http(s)://HOST[:PORT][/PATH]");
  }
  return d;
}

}  // namespace

ApiError files_not_reachable(const std::string& field, const std::string& why) {
  return not_found(
      "FilesNotReachable",
      "the job's files are not reachable from the control plane: " + field + " " + why);
}

bool is_smb_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;
    for (char bad : std::string("\\:*?\"<>|$")) {
      if (c == static_cast<unsigned char>(bad)) return false;
    }
  }
  return true;
}

// The volume of kind that text (with suffix) is on and the path in it, '/'-separated: none when
// it is on no such volume of the job or its cluster.
std::optional<std::variant<OnVolume, ApiError>> on_volume(const std::string& text,
                                                          const std::string& suffix,
                                                          const std::string& field,
                                                          const ShareVolumes& volumes,
                                                          const char* kind) {
  std::optional<std::string> rest = after_root(text, "AZ_BATCHAI_JOB_MOUNT_ROOT");
  const json* from = &volumes.job;
  if (!rest) {
    rest = after_root(text, "AZ_BATCHAI_MOUNT_ROOT");
    from = &volumes.cluster;
  }
  if (!rest) return std::nullopt;
  auto parts = split_path(*rest);
  std::size_t taken = 0;
  const json* volume = volume_at(*from, kind, parts, taken);
  if (volume == nullptr) return std::nullopt;
  for (const auto& p : split_path(suffix)) parts.push_back(p);
  for (std::size_t i = taken; i < parts.size(); ++i) {
    if (parts[i] == "." || parts[i] == ".." || parts[i].find('$') != std::string::npos) {
      return files_not_reachable(field,
                                 "has a \".\", \"..\" or a variable below the volume's mount "
                                 "point, which the control plane does not follow");
    }
  }
  return OnVolume{volume, joined(parts, taken)};
}

std::optional<std::variant<SmbDirectory, ApiError>> share_directory(const std::string& text,
                                                                    const std::string& suffix,
                                                                    const std::string& field,
                                                                    const ShareVolumes& volumes) {
  auto on = on_volume(text, suffix, field, volumes, "azureFileShares");
  if (!on) return std::nullopt;
  if (auto* e = std::get_if<ApiError>(&*on)) return *e;
  const auto& [volume, path] = std::get<OnVolume>(*on);
  return locate(*volume, path, field, volumes.accounts);
}

std::optional<std::variant<BlobDirectory, ApiError>> blob_directory(const std::string& text,
                                                                    const std::string& suffix,
                                                                    const std::string& field,
                                                                    const ShareVolumes& volumes) {
  auto on = on_volume(text, suffix, field, volumes, "azureBlobFileSystems");
  if (!on) return std::nullopt;
  if (auto* e = std::get_if<ApiError>(&*on)) return *e;
  const auto& [volume, path] = std::get<OnVolume>(*on);
  return locate_blob(*volume, path, field, volumes.accounts);
}

}  // namespace batchai::cp
