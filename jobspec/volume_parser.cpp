#include "jobspec/volume_parser.hpp"

#include <map>

#include "common/text_pattern.hpp"
#include "jobspec/expand.hpp"
#include "jobspec/mount_options.hpp"
#include "jobspec/rules.hpp"

namespace batchai {

using nlohmann::json;

namespace {

// Azure's rule for blob container names: 3-63 lower-case letters, digits and single hyphens,
// starting and ending with a letter or digit; or "$root".
bool valid_container_name(const std::string& name) {
  if (name == "$root") return true;
  if (name.size() < 3 || name.size() > 63 || name.front() == '-' || name.back() == '-')
    return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && name[i + 1] == '-')) return false;
  }
  return true;
}

void read_credentials(JsonReader& r, MountVolume& v, Diagnostics& d) {
  const json* cred = r.object("credentials", true);
  if (cred == nullptr) return;
  JsonReader cr(*cred, r.path_of("credentials"), d);
  v.account_key = cr.nonempty_string("accountKey");
  if (v.account_key) {
    if (auto why = check_account_key(*v.account_key); !why.empty()) {
      d.error(cr.path_of("accountKey"), why);  // never the key itself
    }
  }
  if (cr.has("accountKeySecretReference")) {
    cr.accept("accountKeySecretReference");
    d.error(cr.path_of("accountKeySecretReference"),
            "Key Vault references are resolved by the control plane; the node needs the key");
  } else if (!v.account_key) {
    d.error(cr.path_of("accountKey"), "is required");
  }
  cr.warn_unknown();
}

// fileServer.mountSettings: the server's address and export, which the control plane resolves
// from fileServer.id (docs/mounts.md). A user's document usually has none; the mount then fails.
void read_mount_settings(JsonReader& fr, MountVolume& v, Diagnostics& d) {
  const json* ms = fr.object("mountSettings");
  if (ms == nullptr) return;
  JsonReader mr(*ms, fr.path_of("mountSettings"), d);
  static const TextPattern host_re(R"([A-Za-z0-9][A-Za-z0-9.:-]{0,252})");
  static const TextPattern export_re(R"(/[A-Za-z0-9._/@+-]{0,1000})");
  v.file_server_ip = mr.nonempty_string("fileServerInternalIP", true).value_or("");
  if (!v.file_server_ip.empty() && !host_re.full_match(v.file_server_ip)) {
    d.error(mr.path_of("fileServerInternalIP"),
            quote_value(v.file_server_ip) + " is not an IP address or host name");
  }
  v.file_server_export = mr.nonempty_string("mountPoint", true).value_or("");
  if (!v.file_server_export.empty() && (!export_re.full_match(v.file_server_export) ||
                                        v.file_server_export.find("/../") != std::string::npos ||
                                        v.file_server_export.ends_with("/.."))) {
    d.error(mr.path_of("mountPoint"),
            quote_value(v.file_server_export) + " is not an absolute export path like /mnt/data");
  }
  for (const char* ignored : {"fileServerPublicIP", "fileServerType"}) mr.accept(ignored);
  mr.warn_unknown();
}

void read_one(JsonReader& r, MountVolume& v, Diagnostics& d) {
  // read_mount_volumes reads relativeMountPath.
  static const TextPattern mode_re("0?[0-7]{3}");
  switch (v.kind) {
    case VolumeKind::kAzureFileShare: {
      v.account_name = r.nonempty_string("accountName", true).value_or("");
      v.azure_file_url = r.nonempty_string("azureFileUrl", true).value_or("");
      static const TextPattern url_re(
          R"(https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/[^/\s]{1,63}/?)");
      if (!v.azure_file_url.empty() && !url_re.full_match(v.azure_file_url)) {
        d.error(r.path_of("azureFileUrl"), quote_value(v.azure_file_url) +
                                               " is not a file share URL like "
                                               "https://<account>.file.core.windows.net/<share>");
      } else if (!v.azure_file_url.empty()) {
        std::string share = v.azure_file_url;
        while (share.ends_with("/")) share.pop_back();
        share = share.substr(share.rfind('/') + 1);
        if (auto why = check_share_name(share); !why.empty()) {
          d.error(r.path_of("azureFileUrl"), why);
        }
      }
      read_credentials(r, v, d);
      for (auto [key, target] :
           {std::pair{"fileMode", &v.file_mode}, std::pair{"directoryMode", &v.directory_mode}}) {
        if (auto mode = r.string(key)) {
          if (!mode_re.full_match(*mode)) {
            d.error(r.path_of(key), quote_value(*mode) + " is not an octal mode like \"0777\"");
          } else {
            *target = *mode;
          }
        }
      }
      break;
    }
    case VolumeKind::kAzureBlob: {
      v.account_name = r.nonempty_string("accountName", true).value_or("");
      v.container_name = r.nonempty_string("containerName", true).value_or("");
      if (!v.container_name.empty() && !valid_container_name(v.container_name)) {
        d.error(r.path_of("containerName"),
                quote_value(v.container_name) +
                    " is not a valid container name: use 3-63 lower-case letters, digits and "
                    "single hyphens, starting and ending with a letter or digit");
      }
      read_credentials(r, v, d);
      v.mount_options = r.string("mountOptions");
      break;
    }
    case VolumeKind::kFileServer: {
      if (const json* fs = r.object("fileServer", true)) {
        JsonReader fr(*fs, r.path_of("fileServer"), d);
        v.file_server_id = fr.nonempty_string("id", true).value_or("");
        read_mount_settings(fr, v, d);
        fr.warn_unknown();
      }
      v.source_directory = r.string("sourceDirectory");
      if (v.source_directory && !v.source_directory->empty()) {
        std::string dir = *v.source_directory;
        while (!dir.empty() && dir.front() == '/') dir.erase(0, 1);
        if (auto why = check_relative_path(dir); !why.empty() && !dir.empty()) {
          d.error(r.path_of("sourceDirectory"), why);
        }
      }
      v.mount_options = r.string("mountOptions");
      break;
    }
    case VolumeKind::kUnmanaged: {
      v.mount_command = r.nonempty_text("mountCommand", true).value_or("");
      if (!v.mount_command.empty()) {
        if (auto words = split_command_words(v.mount_command); !words) {
          d.error(r.path_of("mountCommand"), words.error().message);
        }
      }
      break;
    }
  }
  if (!v.account_name.empty()) {
    if (auto why = check_storage_account_name(v.account_name); !why.empty()) {
      d.error(r.path_of("accountName"), why);
    }
  }
  if (v.mount_options) {
    auto checked = v.kind == VolumeKind::kAzureBlob ? blob_mount_options(*v.mount_options)
                                                    : nfs_mount_options(*v.mount_options);
    if (!checked) d.error(r.path_of("mountOptions"), checked.error().message);
  }
}

}  // namespace

void read_mount_volumes(JsonReader& parent, std::vector<MountVolume>& out, Diagnostics& d) {
  const json* mv = parent.object("mountVolumes");
  if (mv == nullptr) return;
  JsonReader r(*mv, parent.path_of("mountVolumes"), d);
  std::map<std::string, std::string> paths;  // relativeMountPath -> the volume's JSON path
  for (VolumeKind kind : {VolumeKind::kAzureFileShare, VolumeKind::kAzureBlob,
                          VolumeKind::kFileServer, VolumeKind::kUnmanaged}) {
    const std::string field = volume_field(kind);
    const json* list = r.array(field);
    if (list == nullptr) continue;
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::string at = r.path_of(field) + "[" + std::to_string(i) + "]";
      if (!(*list)[i].is_object()) {
        d.error(at, "must be an object, not " + json_type_name((*list)[i]));
        continue;
      }
      JsonReader vr((*list)[i], at, d);
      MountVolume v;
      v.kind = kind;
      v.json_path = at;
      auto relative = vr.string("relativeMountPath", true);
      read_one(vr, v, d);
      vr.warn_unknown();
      if (!relative) continue;  // already reported
      v.relative_mount_path = *relative;
      if (auto why = check_relative_path(v.relative_mount_path); !why.empty()) {
        d.error(vr.path_of("relativeMountPath"), why);
        continue;
      }
      // Two volumes on one path, or one inside another, would hide each other.
      bool clash = false;
      for (const auto& [p, other] : paths) {
        const auto& a = p.size() <= v.relative_mount_path.size() ? p : v.relative_mount_path;
        const auto& b = p.size() <= v.relative_mount_path.size() ? v.relative_mount_path : p;
        if (a == b || b.starts_with(a + "/")) {
          d.error(
              vr.path_of("relativeMountPath"),
              quote_value(v.relative_mount_path) + " overlaps " + quote_value(p) + " of " + other);
          clash = true;
          break;
        }
      }
      if (clash) continue;
      paths.emplace(v.relative_mount_path, at);
      out.push_back(std::move(v));
    }
  }
  r.warn_unknown();
}

}  // namespace batchai
