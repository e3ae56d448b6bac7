// azureBlobFileSystems (reference §6): a blob container through rclone's azureblob backend, a
// FUSE driver like blobfuse, with its config (the key) in a root-only file and a cache of its
// own. blobfuse's default options are applied where rclone has them; mountOptions are honoured.
#include <sstream>

#include "common/time.hpp"
#include "mount/blob_sas.hpp"
#include "mount/prepared_mount.hpp"
#include "mount/rclone_config.hpp"

namespace batchai {

namespace {

// The token outlives any mount: a cluster's volumes stay mounted while the node lives, and every
// mount signs a new one. Rotating the account key revokes it, as it would the key.
constexpr std::int64_t kSasLifetimeSeconds = 10LL * 365 * 24 * 3600;

}  // namespace

// blobfuse's options as rclone's: seconds gain their unit; options rclone has no counterpart
// for (entry/negative timeouts are the kernel's, rclone sets them itself) are left out.
Result<std::vector<std::string>> blob_mount_options(const std::string& mount_options) {
  std::vector<std::string> out;
  std::istringstream in(mount_options);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    if (w == "-o") {
      if (i + 1 == words.size()) return err("mountOptions: -o without an option");
      w = words[++i];
    } else if (w.starts_with("-o")) {
      w = w.substr(2);
    } else if (w.starts_with("--")) {
      w = w.substr(2);
    }
    std::istringstream parts(w);
    for (std::string opt; std::getline(parts, opt, ',');) {
      if (opt.empty()) continue;
      std::string name = opt.substr(0, opt.find('='));
      std::string value = opt.find('=') == std::string::npos ? "" : opt.substr(opt.find('=') + 1);
      for (char& c : name) c = c == '-' ? '_' : c;
      if (name == "attr_timeout" || name == "dir_cache_time") {
        if (value.empty()) return err("mountOptions: " + name + " needs a value");
        bool digits = value.find_first_not_of("0123456789") == std::string::npos;
        out.push_back(name + "=" + value + (digits ? "s" : ""));
      } else if (name == "entry_timeout" || name == "negative_timeout" || name == "tmp_path" ||
                 name == "file_cache_timeout_in_seconds" || name == "config_file" ||
                 name == "use_https" || name == "log_level") {
        continue;  // blobfuse's own; rclone has no such option or the agent sets it
      } else if (name == "ro" || name == "read_only") {
        out.push_back("read_only");
      } else if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
                     std::string::npos ||
                 value.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789._:/+-") != std::string::npos) {
        return err("mountOptions: " + opt + " is not an option");
      } else if (name == "config" || name == "cache_dir" || name == "log_file") {
        return err("mountOptions: " + name + " is set by the agent");
      } else {
        out.push_back(value.empty() ? name : name + "=" + value);
      }
    }
  }
  return out;
}

Result<PreparedMount> prepare_azure_blob(const MountVolume& v, const MountSite& site,
                                         const StorageSettings& settings) {
  if (!v.account_key) return err("no account key (credentials.accountKey) for " + v.container_name);
  if (find_mount_helper("rclone").empty()) {
    return err(
        "rclone's mount helper is not installed: install rclone and link "
        "/sbin/mount.rclone -> /usr/bin/rclone");
  }
  auto extra = blob_mount_options(v.mount_options.value_or(""));
  if (!extra) return extra.error();
  const std::string endpoint = with_account(settings.azure_blob_endpoint, v.account_name);
  // A token for this container only: the file on the node cannot reach the rest of the account.
  auto sas = container_sas_url(endpoint, v.account_name, *v.account_key, v.container_name,
                               wall_ms() / 1000 + kSasLifetimeSeconds);
  if (!sas) return sas.error();
  auto config = rclone_config({{"type", "azureblob"}, {"sas_url", *sas}});
  if (!config) return config.error();
  PreparedMount p;
  const std::string conf = site.files_dir + "/rclone.conf";
  const std::string log = site.files_dir + "/rclone.log";
  p.files.emplace_back(conf, *config);
  std::string options = "config=" + conf + ",cache_dir=" + site.cache_dir +
                        ",vfs_cache_mode=writes,vfs_write_back=0s,allow_other,attr_timeout=240s," +
                        "dir_cache_time=240s,umask=0,log_file=" + log + ",log_level=NOTICE,_netdev";
  for (const auto& o : *extra) options += "," + o;
  p.request = {"volume:" + v.container_name, site.target, "rclone", options, log};
  p.description = endpoint + "/" + v.container_name + " (rclone azureblob through FUSE)";
  p.probe_sas_url = *sas;
  p.probe_display_url = endpoint + "/" + v.container_name;
  return p;
}

}  // namespace batchai
