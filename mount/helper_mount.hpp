// A managed mount (cifs, rclone, nfs) made through libmount's context API, which runs the same
// mount helper mount(8) would. The mount itself runs in a child process (the agent's hidden
// `mount-volume` subcommand) behind a timeout, so a dead server never hangs an agent thread.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

struct MountRequest {
  std::string source;    // //host/share, remote:container, ip:/export
  std::string target;    // the mount point, which exists
  std::string fstype;    // cifs, rclone, nfs
  std::string options;   // never a secret: secrets travel in files named here
  std::string log_file;  // where the helper logs (FUSE drivers), read when the mount fails
};

// In this process: mnt_context_mount(), then a look at the mounted directory; a mount that
// does not answer is unmounted again. Errors carry the helper's own words. The `mount-volume`
// subcommand runs this.
Status mount_here(const MountRequest& r);

// Runs `<agent> mount-volume` for r in a child process and waits at most timeout_ms; a child
// that runs past it is killed and whatever it mounted is detached.
Status mount_in_child(const std::string& agent_exe, const MountRequest& r, int timeout_ms);

// The mount-volume subcommand's options, shared by mount_in_child and main.cpp.
std::vector<std::string> mount_volume_args(const MountRequest& r);

}  // namespace batchai
