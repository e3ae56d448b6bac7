// azureBlobFileSystems (reference §6): a blob container through rclone's azureblob backend, a
// FUSE driver like blobfuse, with its config (the key) in a root-only file and a cache of its
// own. blobfuse's default options are applied where rclone has them; mountOptions are honoured.
#include <algorithm>

#include "common/blob_sas.hpp"
#include "common/time.hpp"
#include "jobspec/mount_options.hpp"
#include "mount/prepared_mount.hpp"
#include "mount/rclone_config.hpp"

namespace batchai {

namespace {

// A cluster volume's token lives as long as the node is likely to (a year), a job volume's as
// long as its job may (MountSite.credential_lifetime_s); every mount signs a new one, for its
// container only, with the permissions the mount needs. Rotating the account key revokes it.
constexpr std::int64_t kClusterCredentialSeconds = 365LL * 24 * 3600;

}  // namespace

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
  // A token for this container only: the file on the node cannot reach the rest of the account;
  // a read-only mount cannot write with it either.
  const bool read_only = std::find(extra->begin(), extra->end(), "read_only") != extra->end();
  const std::int64_t lifetime =
      site.credential_lifetime_s > 0 ? site.credential_lifetime_s : kClusterCredentialSeconds;
  auto sas = container_sas_url(endpoint, v.account_name, *v.account_key, v.container_name,
                               wall_ms() / 1000 + lifetime, read_only ? "rl" : "racwdl");
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
