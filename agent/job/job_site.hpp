// Setting a job up on the node and taking it down again, shared by run-job and the daemon:
// stale leftovers cleaned, the node's directories, job-level volumes, stdouterr/ and outputs,
// the head of execution.log. The supervisor does the rest.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/job/launch_planner.hpp"
#include "agent/job/layout.hpp"
#include "common/job_error.hpp"
#include "exec/execution_log.hpp"
#include "mount/volume_mount.hpp"

namespace batchai {

// What setting a job up needs to know about the node beyond the job.
struct SiteSettings {
  std::string root;           // the node's root (run-job --root, the daemon's "root")
  StorageSettings storage;    // docs/mounts.md
  std::string docker_socket;  // the container engine (docs/containers.md)
  // Outside the root, where a container job's input directories may be (docs/containers.md).
  std::vector<std::string> container_input_roots;
};

// Before a job on a node root no other job uses: job-level mounts left by an agent that died
// are unmounted (and their credentials files removed), and AZ_BATCHAI_JOB_TEMP_DIR emptied (never
// across a mount). Problems are returned as warnings.
std::vector<std::string> clean_leftovers(const JobLayout& layout, const SiteSettings& site);

// Creates the directories, mounts the job's volumes, creates stdouterr/ and the outputs, and
// starts execution.log with `intro` as its first line (the container comes later, job_start).
// `interrupted` is asked between mounts; a non-zero answer stops the set-up (mounts undone) and is
// returned in *interrupted_by. On failure everything done is undone and the error says what failed
// (with its Batch AI code).
std::optional<JobError> set_up_job(const PlannedJob& job, const std::string& intro,
                                   const SiteSettings& site,
                                   const std::function<int()>& interrupted, int* interrupted_by);

// Removes the job's containers on this node (those of the job with this uuid; "" for none),
// unmounts the job's volumes, removes their credentials files and their empty directories; the
// job's files are never deleted. Returns warnings.
std::vector<std::string> take_down_job(const JobLayout& layout, const SiteSettings& site,
                                       const std::string& container_job_uuid);

}  // namespace batchai
