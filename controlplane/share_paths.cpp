#include "controlplane/share_paths.hpp"

#include <charconv>
#include <vector>

#include "common/fs.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

ApiError unreachable(const std::string& field, const std::string& why) {
  return not_found(
      "FilesNotReachable",
      "the job's files are not reachable from the control plane: " + field + " " + why);
}

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

// The azureFileShares volume mounted at the first components of rest, and how many it takes.
const json* share_at(const json& volumes, const std::vector<std::string>& rest,
                     std::size_t& taken) {
  if (!volumes.is_object() || !volumes.contains("azureFileShares") ||
      !volumes["azureFileShares"].is_array()) {
    return nullptr;
  }
  for (const auto& v : volumes["azureFileShares"]) {
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
    return unreachable(field,
                       "is on a share whose azureFileUrl is not https://<account>.file."
                       "<suffix>/<share>");
  }
  if (volume.contains("accountName") && volume["accountName"].is_string()) {
    account = volume["accountName"].get<std::string>();
  }
  const StorageAccount* held = accounts != nullptr ? accounts->find(account) : nullptr;
  if (held == nullptr) {
    return unreachable(field, "is on the share " + share + " of the storage account " + account +
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
    return unreachable(field, "is on the storage account " + account +
                                  ", whose fileEndpoint is not smb://HOST[:PORT]/");
  }
  return d;
}

}  // namespace

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

std::optional<std::variant<SmbDirectory, ApiError>> share_directory(const std::string& text,
                                                                    const std::string& suffix,
                                                                    const std::string& field,
                                                                    const ShareVolumes& volumes) {
  std::optional<std::string> rest = after_root(text, "AZ_BATCHAI_JOB_MOUNT_ROOT");
  const json* from = &volumes.job;
  if (!rest) {
    rest = after_root(text, "AZ_BATCHAI_MOUNT_ROOT");
    from = &volumes.cluster;
  }
  if (!rest) return std::nullopt;
  auto parts = split_path(*rest);
  std::size_t taken = 0;
  const json* share = share_at(*from, parts, taken);
  if (share == nullptr) return std::nullopt;
  for (const auto& p : split_path(suffix)) parts.push_back(p);
  for (std::size_t i = taken; i < parts.size(); ++i) {
    if (parts[i] == "." || parts[i] == ".." || parts[i].find('$') != std::string::npos) {
      return unreachable(field,
                         "has a \".\", \"..\" or a variable below the share's mount "
                         "point, which the control plane does not follow");
    }
  }
  return locate(*share, joined(parts, taken), field, volumes.accounts);
}

}  // namespace batchai::cp
