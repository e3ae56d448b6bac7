// azureFileShares (reference §6): //<host>/<share> with the account key in a credentials file.
#include <sys/utsname.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/fs.hpp"
#include "common/text_pattern.hpp"
#include "mount/prepared_mount.hpp"
#include "mount/rclone_config.hpp"

namespace batchai {

namespace {

const char* const kHelperDirs[] = {"/sbin", "/sbin/fs.d", "/sbin/fs", "/usr/sbin"};

}  // namespace

std::string find_mount_helper(const std::string& fstype) {
  for (const char* dir : kHelperDirs) {
    std::string path = std::string(dir) + "/mount." + fstype;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

bool kernel_has_cifs() {
  if (auto fs = read_file("/proc/filesystems", 1 << 16);
      fs && fs->find("\tcifs\n") != std::string::npos) {
    return true;
  }
  utsname u{};
  if (::uname(&u) != 0) return false;
  auto deps = read_file(std::string("/lib/modules/") + u.release + "/modules.dep", 64 << 20);
  return deps && deps->find("/cifs.ko") != std::string::npos;
}

Result<PreparedMount> prepare_azure_file_share(const MountVolume& v, const MountSite& site,
                                               const StorageSettings& settings) {
  static const TextPattern url_re(R"(https?://([A-Za-z0-9.-]+)(:[0-9]{1,5})?/([^/\s]+)/?)");
  std::vector<std::string> m;
  if (!url_re.full_match(v.azure_file_url, &m)) {
    return err("azureFileUrl " + v.azure_file_url + " is not a file share URL");
  }
  if (!v.account_key) return err("no account key (credentials.accountKey) for " + v.azure_file_url);
  const std::string host = settings.azure_file_host.empty()
                               ? m[0]
                               : with_account(settings.azure_file_host, v.account_name);
  const std::string share = m[2];
  const std::string port = std::to_string(settings.smb_port);

  bool use_cifs = settings.smb_driver == SmbDriver::kCifs;
  if (settings.smb_driver == SmbDriver::kAuto) {
    use_cifs = kernel_has_cifs() || find_mount_helper("rclone").empty();
  }
  PreparedMount p;
  if (use_cifs) {
    if (find_mount_helper("cifs").empty()) {
      return err("mount.cifs is not installed (Debian: apt-get install cifs-utils)");
    }
    const std::string cred = site.files_dir + "/credentials";
    p.files.emplace_back(cred,
                         "username=" + v.account_name + "\npassword=" + *v.account_key + "\n");
    p.request = {"//" + host + "/" + share, site.target, "cifs",
                 "vers=3.0,username=" + v.account_name + ",dir_mode=" + v.directory_mode +
                     ",file_mode=" + v.file_mode + ",serverino,port=" + port +
                     ",credentials=" + cred + ",_netdev",
                 ""};
    p.description = "//" + host + "/" + share + " (cifs, port " + port + ")";
    return p;
  }
  if (find_mount_helper("rclone").empty()) {
    return err(
        "neither kernel cifs nor rclone's mount helper is available: install cifs-utils "
        "(kernel cifs), or rclone with a link /sbin/mount.rclone -> /usr/bin/rclone");
  }
  auto pass = rclone_obscure(*v.account_key);
  if (!pass) return pass.error();
  // rclone's default smb encoding maps a trailing dot to U+FF0E, which leaves a stray "．"
  // directory at the share's root; this is the default without Dot and RightPeriod.
  auto config = rclone_config({{"type", "smb"},
                               {"host", host},
                               {"port", port},
                               {"user", v.account_name},
                               {"pass", *pass},
                               {"encoding",
                                "Slash,LtGt,DoubleQuote,Colon,Question,Asterisk,Pipe,"
                                "BackSlash,Ctl,RightSpace,InvalidUtf8"}});
  if (!config) return config.error();
  const std::string conf = site.files_dir + "/rclone.conf";
  const std::string log = site.files_dir + "/rclone.log";
  p.files.emplace_back(conf, *config);
  p.request = {"volume:" + share, site.target, "rclone",
               "config=" + conf + ",cache_dir=" + site.cache_dir +
                   ",vfs_cache_mode=writes,vfs_write_back=0s,allow_other,umask=0,dir_perms=" +
                   v.directory_mode + ",file_perms=" + v.file_mode + ",log_file=" + log +
                   ",log_level=NOTICE,_netdev",
               log};
  p.description = "//" + host + "/" + share + " (rclone smb through FUSE, port " + port + ")";
  return p;
}

}  // namespace batchai
