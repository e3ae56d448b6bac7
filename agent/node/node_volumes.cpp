#include "agent/node/node_volumes.hpp"

#include <algorithm>

#include "agent/job/job_environment.hpp"
#include "agent/job/launch_planner.hpp"
#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "jobspec/expand.hpp"
#include "jobspec/volume_parser.hpp"
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

}  // namespace

NodeVolumesResult mount_node_volumes(const nlohmann::json& node_setup, const DaemonConfig& config) {
  NodeVolumesResult result;
  const std::string mount_root = cluster_mount_root(config.root);
  std::vector<MountVolume> volumes;
  Diagnostics d;
  if (node_setup.is_object()) {
    JsonReader r(node_setup, "nodeSetup", d);
    read_mount_volumes(r, volumes, d);
  }
  if (d.has_errors()) {
    JobError e{"InvalidNodeSetup", "the cluster's nodeSetup.mountVolumes is not valid", {}};
    for (const auto& p : d.errors()) e.details.push_back({p.path, p.message});
    result.errors.push_back(std::move(e));
    return result;
  }
  std::vector<std::string> wanted;
  for (const auto& v : volumes) wanted.push_back(join_path(mount_root, v.relative_mount_path));
  // Leftovers: mounted below the root, but not (or no longer) a volume of the cluster.
  if (auto mounted = mounts_at_or_below(mount_root); mounted) {
    for (const auto& m : *mounted) {
      bool kept = std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
        return m == w || m.starts_with(w + "/");
      });
      if (kept) continue;
      if (auto s = unmount_all_below(m); !s) {
        result.errors.push_back({"MountCleanupFailed",
                                 "a leftover mount stays: " + s.error().message,
                                 {{"mountPoint", m}}});
      }
    }
  }
  // Caches of mounts found here are kept: their drivers may have died with writes not uploaded.
  (void)forget_unmounted(config.storage, false);
  if (!result.errors.empty()) return result;

  JobEnvironment env = JobEnvironment::node_base();
  for (const auto& [name, value] : config.environment) env.set(name, value);
  env.set("AZ_BATCHAI_MOUNT_ROOT", mount_root);
  const std::string path_var = [&] {
    for (const auto& e : env.to_envp(false)) {
      if (e.starts_with("PATH=")) return e.substr(5);
    }
    return std::string("/usr/sbin:/usr/bin:/sbin:/bin");
  }();
  VolumeMountContext context{config.storage, "/proc/self/exe", nullptr};
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const MountVolume& v = volumes[i];
    const std::string& target = wanted[i];
    if (auto m = mounts_at_or_below(target);
        m && std::find(m->begin(), m->end(), target) != m->end()) {
      result.mounted.push_back(v.relative_mount_path + " at " + target + ": mounted already, kept");
      continue;
    }
    VolumeMountRequest request{&v, target, {}, env.to_envp(false)};
    if (v.kind == VolumeKind::kUnmanaged) {
      auto words = expand_command_words(v.mount_command, env.lookup(false));
      if (!words || words->empty()) {
        result.errors.push_back(
            volume_error(v, words ? "the mountCommand has no words" : words.error().message));
        break;
      }
      auto program = find_program((*words)[0], path_var);
      if (!program) {
        result.errors.push_back(volume_error(v, (*words)[0] + " is not a program on PATH"));
        break;
      }
      (*words)[0] = *program;
      words->push_back(target);
      request.unmanaged_argv = std::move(*words);
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
