#include "agent/node/node_volumes.hpp"

#include <algorithm>

#include "agent/job/job_environment.hpp"
#include "agent/job/launch_planner.hpp"
#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "jobspec/expand.hpp"
#include "mount/mount_table.hpp"
#include "mount/unmount.hpp"
#include "mount/volume_mount.hpp"

namespace batchai {

namespace {

JobError volume_error(const MountVolume& v, const std::string& message) {
  return {mount_error_code(v.kind),
          "cannot mount the cluster's " + volume_field(v.kind) + " volume " +
              v.relative_mount_path + ": " + message,
          {{"volume", v.json_path}, {"relativeMountPath", v.relative_mount_path}}};
}

// Mounted below the mount root, but not (or no longer) a volume of the cluster: unmounted.
void unmount_leftovers(const std::string& mount_root, const std::vector<std::string>& wanted,
                       NodeVolumesResult& result) {
  auto mounted = mounts_at_or_below(mount_root);
  if (!mounted) return;
  for (const auto& m : *mounted) {
    bool kept = std::any_of(wanted.begin(), wanted.end(),
                            [&](const std::string& w) { return m == w || m.starts_with(w + "/"); });
    if (kept) continue;
    if (auto s = unmount_all_below(m); !s) {
      result.errors.push_back({"MountCleanupFailed",
                               "a leftover mount stays: " + s.error().message,
                               {{"mountPoint", m}}});
    }
  }
}

bool mounted_at(const std::string& target) {
  auto m = mounts_at_or_below(target);
  return m && std::find(m->begin(), m->end(), target) != m->end();
}

// An unmanaged volume's mountCommand as the words to run, with the mount point last.
Result<std::vector<std::string>> unmanaged_argv(const MountVolume& v, const JobEnvironment& env,
                                                const std::string& target) {
  auto words = expand_command_words(v.mount_command, env.lookup(false));
  if (!words) return words.error();
  if (words->empty()) return err("the mountCommand has no words");
  std::string path_var = "/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env.to_envp(false)) {
    if (e.starts_with("PATH=")) path_var = e.substr(5);
  }
  if ((*words)[0].find('/') != std::string::npos && !(*words)[0].starts_with("/")) {
    return err((*words)[0] + " is a relative path: give the program's absolute path");
  }
  auto program = find_program((*words)[0], path_var);
  if (!program) return err((*words)[0] + " is not a program on PATH");
  (*words)[0] = *program;
  words->push_back(target);
  return std::move(*words);
}

}  // namespace

NodeVolumesResult mount_node_volumes(const std::vector<MountVolume>& volumes,
                                     const DaemonConfig& config) {
  NodeVolumesResult result;
  const std::string mount_root = cluster_mount_root(config.root);
  std::vector<std::string> wanted;
  wanted.reserve(volumes.size());
  for (const auto& v : volumes) wanted.push_back(join_path(mount_root, v.relative_mount_path));
  unmount_leftovers(mount_root, wanted, result);
  // Caches of mounts found here are kept: their drivers may have died with writes not uploaded.
  (void)forget_unmounted(config.storage, false);
  if (!result.errors.empty()) return result;

  JobEnvironment env = JobEnvironment::node_base(config.environment);
  env.set("AZ_BATCHAI_MOUNT_ROOT", mount_root);
  VolumeMountContext context{config.storage, "/proc/self/exe", nullptr};
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const MountVolume& v = volumes[i];
    const std::string& target = wanted[i];
    if (mounted_at(target)) {
      result.mounted.push_back(v.relative_mount_path + " at " + target + ": mounted already, kept");
      continue;
    }
    VolumeMountRequest request{
        &v, target, {}, env.to_envp(false), 0};  // the node's own: long-lived
    if (v.kind == VolumeKind::kUnmanaged) {
      auto argv = unmanaged_argv(v, env, target);
      if (!argv) {
        result.errors.push_back(volume_error(v, argv.error().message));
        break;
      }
      request.unmanaged_argv = std::move(*argv);
    }
    Status s = make_dirs(target, 0755);
    Result<std::string> mounted =
        s ? mount_volume(request, context) : Result<std::string>(s.error());
    if (!mounted) {
      result.errors.push_back(volume_error(v, mounted.error().message));
      break;  // the node is unusable; what is mounted stays for a look, and is reused on restart
    }
    result.mounted.push_back(v.relative_mount_path + " at " + target + ": " + *mounted);
  }
  return result;
}

}  // namespace batchai
