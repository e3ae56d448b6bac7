#include "mount/helper_mount.hpp"

#include <dirent.h>
#include <libmount/libmount.h>
#include <sys/mount.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "common/blob_sas.hpp"
#include "common/fs.hpp"
#include "mount/mount_table.hpp"
#include "mount/unmanaged_mount.hpp"

namespace batchai {

namespace {

struct ContextFree {
  void operator()(libmnt_context* c) const { mnt_free_context(c); }
};
struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

constexpr std::size_t kLogTail = 1500;

// The end of a FUSE driver's log, where it says why it gave up.
std::string log_tail(const std::string& path) {
  if (path.empty()) return "";
  auto text = read_file(path, 1 << 20);
  if (!text || text->empty()) return "";
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  if (t.size() > kLogTail) t = "..." + t.substr(t.size() - kLogTail);
  return redact_sas(t);
}

// A mount that came up but cannot be read (wrong key, missing container with a FUSE driver
// that mounts lazily) is an error now rather than in the job.
Status check_readable(const std::string& target) {
  std::unique_ptr<DIR, DirCloser> d(::opendir(target.c_str()));
  if (!d) return err("the mounted directory cannot be read: " + errno_text(errno));
  errno = 0;
  while (::readdir(d.get()) != nullptr) {
  }
  if (errno != 0) return err("the mounted directory cannot be listed: " + errno_text(errno));
  return ok();
}

}  // namespace

std::vector<std::string> mount_volume_args(const MountRequest& r) {
  std::vector<std::string> args = {"--source", r.source, "--target",  r.target,
                                   "--type",   r.fstype, "--options", r.options};
  if (!r.log_file.empty()) {
    args.push_back("--log-file");
    args.push_back(r.log_file);
  }
  return args;
}

Status mount_here(const MountRequest& r) {
  std::unique_ptr<libmnt_context, ContextFree> cxt(mnt_new_context());
  if (!cxt) return err("libmount: cannot create a mount context");
  // The mount table (utab) is libmount's business; the agent reads /proc/self/mountinfo.
  if (mnt_context_set_source(cxt.get(), r.source.c_str()) != 0 ||
      mnt_context_set_target(cxt.get(), r.target.c_str()) != 0 ||
      mnt_context_set_fstype(cxt.get(), r.fstype.c_str()) != 0 ||
      (!r.options.empty() && mnt_context_set_options(cxt.get(), r.options.c_str()) != 0)) {
    return err("libmount: cannot set up the mount of " + r.source);
  }
  int rc = mnt_context_mount(cxt.get());
  // With a helper (mount.cifs, mount.nfs, mount.rclone) libmount's status only says that the
  // helper ran; the helper's exit code says whether it mounted. Its own words went to stderr.
  const bool helper = mnt_context_helper_executed(cxt.get()) == 1;
  const int helper_status = helper ? mnt_context_get_helper_status(cxt.get()) : 0;
  if (rc != 0 || mnt_context_get_status(cxt.get()) != 1 || helper_status != 0) {
    std::string why;
    if (helper) {
      why = "mount." + r.fstype + " failed (exit code " + std::to_string(helper_status) + ")";
    } else {
      char buf[BUFSIZ] = {};
      mnt_context_get_excode(cxt.get(), rc, buf, sizeof buf);
      why = buf[0] != '\0' ? buf : "mount failed (libmount code " + std::to_string(rc) + ")";
    }
    if (auto tail = log_tail(r.log_file); !tail.empty()) why += "; driver log: " + tail;
    return err(why);
  }
  if (auto s = check_readable(r.target); !s) {
    std::string why = s.error().message;
    if (auto tail = log_tail(r.log_file); !tail.empty()) why += "; driver log: " + tail;
    if (::umount2(r.target.c_str(), UMOUNT_NOFOLLOW) != 0) {
      ::umount2(r.target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    }
    return err(why);
  }
  return ok();
}

Status mount_in_child(const std::string& agent_exe, const MountRequest& r, int timeout_ms) {
  std::vector<std::string> argv = {agent_exe, "mount-volume"};
  for (auto& a : mount_volume_args(r)) argv.push_back(std::move(a));
  // The helpers find their own programs; nothing of the job's environment goes to them.
  Status s =
      run_mount_command(argv, {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, timeout_ms);
  if (!s) {
    // A child killed mid-way may have left the mount up: detach it, the server is not answering.
    if (auto mounted = mounts_at_or_below(r.target); mounted && !mounted->empty()) {
      for (const auto& m : *mounted) ::umount2(m.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    }
    // run_mount_command speaks of "the mount command": here that is the agent's own child,
    // whose output is the error in the helper's words.
    std::string msg = s.error().message;
    const std::string exited = "the mount command exited with code 1: ";
    if (msg.starts_with(exited)) return err(msg.substr(exited.size()));
    if (msg.starts_with("the mount command ")) msg = "the mount " + msg.substr(18);
    return err(msg);
  }
  return ok();
}

}  // namespace batchai
