#include "agent/job/job_site.hpp"

#include "agent/job/job_container.hpp"
#include "common/beneath.hpp"
#include "common/fs.hpp"
#include "mount/unmanaged_mount.hpp"
#include "mount/unmount.hpp"

namespace batchai {

std::vector<std::string> clean_leftovers(const JobLayout& layout, const SiteSettings& site) {
  std::vector<std::string> warnings = remove_leftover_containers(site.docker_socket, site.root);
  const StorageSettings& storage = site.storage;
  if (auto s = unmount_all_below(layout.jobs_root); !s) {
    warnings.push_back("leftover job mounts: " + s.error().message);
  }
  for (auto& w : forget_unmounted(storage, false)) warnings.push_back(std::move(w));
  (void)remove_empty_tree(layout.jobs_root);
  // A bind mount of the same file system has the same device number: emptying must never
  // reach into one, so mounts below the temp dir go first.
  if (auto s = unmount_all_below(layout.job_temp_dir); !s) {
    warnings.push_back("AZ_BATCHAI_JOB_TEMP_DIR not emptied, a mount below it stays: " +
                       s.error().message);
  } else if (auto e = empty_dir_one_fs(layout.job_temp_dir); !e) {
    warnings.push_back("AZ_BATCHAI_JOB_TEMP_DIR not fully emptied: " + e.error().message);
  }
  return warnings;
}

std::vector<std::string> take_down_job(const JobLayout& layout, const SiteSettings& site,
                                       const std::string& container_job_uuid) {
  const StorageSettings& storage = site.storage;
  // The container first: it holds the job's volumes too.
  std::vector<std::string> warnings =
      remove_job_containers(site.docker_socket, site.root, container_job_uuid);
  if (auto s = unmount_all_below(layout.job_mount_root); !s) warnings.push_back(s.error().message);
  // A multi-node job's node other than the master has the master's mounted here (sshfs).
  if (auto s = unmount_all_below(layout.shared_job_temp); !s) {
    warnings.push_back(s.error().message);
  }
  for (auto& w : forget_unmounted(storage, true)) warnings.push_back(std::move(w));
  (void)remove_empty_tree(layout.job_dir);  // what is not empty stays: files are never deleted
  prune_empty_dirs(layout.job_dir.substr(0, layout.job_dir.rfind('/')), layout.jobs_root);
  return warnings;
}

std::optional<JobError> set_up_job(const PlannedJob& job, const std::string& intro,
                                   const SiteSettings& site,
                                   const std::function<int()>& interrupted, int* interrupted_by) {
  const StorageSettings& storage = site.storage;
  auto fail = [&](JobError e) {
    take_down_job(job.layout, site, job.container ? job.job_uuid : "");
    return std::optional<JobError>(std::move(e));
  };
  // Every directory below the node root is created beneath it: a symbolic link planted on the
  // way (in a share anyone may write) is refused, never followed by root.
  auto make_dir = [&](const std::string& dir) {
    return make_dirs_below(job.layout.root, dir, 0755);
  };
  for (const auto& dir : {job.layout.mount_root, job.layout.job_mount_root, job.layout.job_temp,
                          job.layout.shared_job_temp}) {
    if (auto s = make_dir(dir); !s) return fail({"JobSetupFailed", s.error().message, {}});
  }
  // Volumes first: stdouterr/ and the outputs usually live on one.
  std::vector<std::string> mount_lines;
  VolumeMountContext context{storage, "/proc/self/exe", nullptr};
  int stopped_by = 0;
  context.interrupted = [&]() {
    if (stopped_by == 0 && interrupted) stopped_by = interrupted();
    return stopped_by != 0;
  };
  for (const auto& m : job.mounts) {
    // The mount helper is not the job: it gets the job's variables but not its secrets.
    // A job volume's credentials need not outlive the job: its wall clock, and a day to spare.
    VolumeMountRequest request{m.volume, m.mount_point, m.command, job.env.to_envp(false),
                               job.plan.max_wall_clock_ms / 1000 + 24 * 3600};
    Status s = make_dir(m.mount_point);
    Result<std::string> mounted =
        s ? mount_volume(request, context) : Result<std::string>(s.error());
    if (stopped_by == 0 && interrupted) stopped_by = interrupted();
    if (stopped_by != 0) {
      if (interrupted_by != nullptr) *interrupted_by = stopped_by;
      return fail({"JobTerminate", "stopped before the job started", {}});
    }
    if (!mounted) {
      return fail({mount_error_code(m.volume->kind),
                   "cannot mount " + volume_field(m.volume->kind) + " volume " +
                       m.volume->relative_mount_path + " at " + m.mount_point + ": " +
                       mounted.error().message,
                   {{"volume", m.volume->json_path},
                    {"relativeMountPath", m.volume->relative_mount_path}}});
    }
    mount_lines.push_back("mounted " + m.volume->relative_mount_path + " at " + m.mount_point +
                          ": " + *mounted);
  }
  std::vector<std::string> dirs = {job.stdouterr_dir};
  for (const auto& out : job.outputs) dirs.push_back(out.path);
  for (const auto& dir : dirs) {
    if (auto s = make_dir(dir); !s) return fail({"JobSetupFailed", s.error().message, {}});
  }
  ExecutionLog log(job.plan.execution_log, job.layout.root);
  log.line(intro);
  std::string env_names;
  for (const auto& n : job.env.names()) env_names += (env_names.empty() ? "" : " ") + n;
  log.line("environment: " + env_names);
  for (const auto& line : mount_lines) log.line(line);
  for (const auto& w : job.warnings) log.line("warning: " + w);
  for (const auto& out : job.outputs) log.line("output " + out.id + ": " + out.path);
  if (auto s = write_file_atomic(job.hostfile, job.hostfile_content, 0644); !s) {
    return fail({"JobSetupFailed", s.error().message, {}});
  }
  return std::nullopt;
}

}  // namespace batchai
