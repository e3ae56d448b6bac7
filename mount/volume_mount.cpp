#include "mount/volume_mount.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>

#include "common/blob_sas.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/time.hpp"
#include "mount/blob_probe.hpp"
#include "mount/fuse_driver.hpp"
#include "mount/mount_table.hpp"
#include "mount/prepared_mount.hpp"
#include "mount/unmanaged_mount.hpp"

namespace batchai {

namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

std::string files_root(const StorageSettings& s) {
  return join_path(s.runtime_directory, "mounts");
}
std::string cache_root(const StorageSettings& s) {
  return join_path(s.cache_directory, "mounts");
}

// Failures a second try may get past: the server not answering (yet), the network not up.
bool may_pass(const std::string& message) {
  static const std::array<const char*, 11> transient = {"Couldn't connect to server",
                                                        "timed out",
                                                        "did not finish within",
                                                        "Connection refused",
                                                        "No route to host",
                                                        "Network is unreachable",
                                                        "Host is down",
                                                        "temporarily unavailable",
                                                        "Connection reset",
                                                        "connection reset",
                                                        "Connection timed out"};
  return std::any_of(transient.begin(), transient.end(),
                     [&](const char* t) { return message.find(t) != std::string::npos; });
}

Result<PreparedMount> prepare(const VolumeMountRequest& r, const MountSite& site,
                              const StorageSettings& s) {
  switch (r.volume->kind) {
    case VolumeKind::kAzureFileShare:
      return prepare_azure_file_share(*r.volume, site, s);
    case VolumeKind::kAzureBlob:
      return prepare_azure_blob(*r.volume, site, s);
    case VolumeKind::kFileServer:
      return prepare_file_server(*r.volume, site);
    case VolumeKind::kUnmanaged:
      break;
  }
  return err("unmanaged volumes have no managed mount");
}

Status write_site_files(const MountSite& site, const PreparedMount& p) {
  if (auto s = make_dirs(site.files_dir, 0700); !s) return s;
  // make_dirs leaves an existing directory as it was: the secrets' directory must be root's only.
  if (::chmod(site.files_dir.c_str(), 0700) != 0) {
    return err("cannot chmod " + site.files_dir + ": " + errno_text(errno));
  }
  if (auto s = write_file_atomic(join_path(site.files_dir, "target"), site.target + "\n", 0600);
      !s) {
    return s;
  }
  for (const auto& [path, content] : p.files) {
    if (auto s = write_file_atomic(path, content, 0600); !s) return s;
  }
  if (!p.request.log_file.empty()) ::unlink(p.request.log_file.c_str());  // this attempt's only
  return ok();
}

bool is_mounted(const std::string& target) {
  auto mounts = mounts_at_or_below(target);
  return mounts && std::find(mounts->begin(), mounts->end(), target) != mounts->end();
}

}  // namespace

Result<std::string> mount_volume(const VolumeMountRequest& r, const VolumeMountContext& c) {
  const StorageSettings& s = c.settings;
  const int timeout_ms = s.mount_timeout_seconds * 1000;
  if (r.volume->kind == VolumeKind::kUnmanaged) {
    if (auto st = run_mount_command(r.unmanaged_argv, r.unmanaged_env, timeout_ms); !st) {
      return st.error();
    }
    std::string cmd;
    for (const auto& w : r.unmanaged_argv) cmd += (cmd.empty() ? "" : " ") + w;
    return "the mount command " + cmd;
  }
  const std::string id = fnv1a_hex(r.mount_point);
  MountSite site{r.mount_point, join_path(files_root(s), id), join_path(cache_root(s), id),
                 r.credential_lifetime_s};
  auto prepared = prepare(r, site, s);
  if (!prepared) return prepared.error();
  if (prepared->request.fstype == "rclone") {
    if (auto st = make_dirs(site.cache_dir, 0700); !st) return st.error();
  }
  if (auto st = write_site_files(site, *prepared); !st) return st.error();

  Status result = err("not tried");
  for (int attempt = 1; attempt <= s.mount_attempts; ++attempt) {
    result = prepared->probe_sas_url.empty()
                 ? Status(ok())
                 : probe_container(prepared->probe_sas_url, prepared->probe_display_url,
                                   s.mount_timeout_seconds);
    if (result) result = mount_in_child(c.agent_exe, prepared->request, timeout_ms);
    if (result || !may_pass(result.error().message) || attempt == s.mount_attempts) break;
    // 1 s, 2 s, 4 s, ... in small steps so a stop request is heard.
    const std::int64_t until = mono_ms() + (1000LL << (attempt - 1));
    while (mono_ms() < until) {
      if (c.interrupted && c.interrupted())
        return err("stopped while retrying: " + result.error().message);
      ::usleep(50 * 1000);
    }
  }
  if (!result) {
    std::string why = result.error().message;
    if (!is_mounted(r.mount_point)) {
      (void)remove_tree_one_fs(site.files_dir);
    }
    if (s.mount_attempts > 1 && may_pass(why)) {
      why += " (" + std::to_string(s.mount_attempts) + " attempts)";
    }
    return err(prepared->description + ": " + redact_sas(why));
  }
  return prepared->description;
}

std::vector<std::string> forget_unmounted(const StorageSettings& settings,
                                          bool drivers_waited_for) {
  std::vector<std::string> warnings;
  const std::string root = files_root(settings);
  std::vector<std::string> ids;
  {
    std::unique_ptr<DIR, DirCloser> d(::opendir(root.c_str()));
    if (!d) return warnings;
    while (dirent* e = ::readdir(d.get())) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ids.push_back(name);
    }
  }
  for (const auto& id : ids) {
    const std::string dir = join_path(root, id);
    auto target = read_file(join_path(dir, "target"), 8192);
    std::string t = target ? *target : "";
    while (!t.empty() && t.back() == '\n') t.pop_back();
    if (!t.empty() && is_mounted(t)) continue;
    // A driver still running after its unmount is still uploading: its files stay for now.
    if (!t.empty() && !fuse_driver_processes(t).empty()) continue;
    if (auto st = remove_tree_one_fs(dir); !st) warnings.push_back(st.error().message);
    const std::string cache = join_path(cache_root(settings), id);
    if (::access(cache.c_str(), F_OK) != 0) continue;
    if (drivers_waited_for) {
      if (auto st = remove_tree_one_fs(cache); !st) warnings.push_back(st.error().message);
    } else {
      warnings.push_back("the cache " + cache + " of a mount that ended while the agent was " +
                         "away is kept: it may hold writes that never reached the server");
    }
  }
  return warnings;
}

}  // namespace batchai
