// Mounting one volume of any kind at a mount point, as the job and the node's set-up both do:
// root-only files written, the mount made behind a timeout, failures that may pass retried with
// backoff; and forgetting those files once the volume is unmounted.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "jobspec/volume.hpp"
#include "mount/storage_settings.hpp"

namespace batchai {

struct VolumeMountRequest {
  const MountVolume* volume = nullptr;
  std::string mount_point;                  // exists
  std::vector<std::string> unmanaged_argv;  // unmanagedFileSystems: the command, mount point last
  std::vector<std::string> unmanaged_env;   // and its environment (never a secret)
  std::int64_t credential_lifetime_s = 0;   // see MountSite (mount/prepared_mount.hpp)
};

struct VolumeMountContext {
  StorageSettings settings;                  // cache_directory filled in
  std::string agent_exe = "/proc/self/exe";  // runs the `mount-volume` subcommand
  std::function<bool()> interrupted;         // asked while waiting between attempts
};

// Mounts it; on success returns what was mounted (for execution.log, no secrets). The error
// names what failed in the helper's own words; nothing stays mounted after a failure.
Result<std::string> mount_volume(const VolumeMountRequest& r, const VolumeMountContext& c);

// Removes the root-only files of every mount that is no longer mounted and whose driver has
// exited (after unmounting, and at start for those of an agent that died), and the mount's
// FUSE cache when drivers_waited_for (the unmount waited for the driver's uploads); a cache
// found otherwise is kept, with a warning. Returns warnings.
std::vector<std::string> forget_unmounted(const StorageSettings& settings, bool drivers_waited_for);

}  // namespace batchai
