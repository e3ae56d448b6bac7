// A container job's container (reference §1 containerSettings): pulled when missing, with the
// registry's credentials; created with the node's root and the job's directories bound at the
// same paths, host networking, shmSize and, with GPUs, a device request for NVIDIA's runtime;
// started with batchai-pause as PID 1. The job's steps then run in it through container-exec.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/job/launch_planner.hpp"
#include "common/job_error.hpp"

namespace batchai {

// The container of the job with this uuid: its name is known before it exists, so an agent
// that dies between creating and recording it still finds it.
std::string job_container_name(const std::string& job_uuid);

// Pulls, creates and starts the job's container. FailedStartingContainer with the image's name
// and the engine's or registry's words on failure; nothing is left behind then.
std::optional<JobError> start_job_container(const PlannedJob& job, const std::string& root,
                                            const std::string& socket);

// The create request's body (exposed for tests: the GPU device request, binds, labels).
nlohmann::json job_container_body(const PlannedJob& job, const std::string& root,
                                  const std::string& image, const std::string& pause_path);

// Removes the job's container (a missing one is fine).
Status remove_job_container(const std::string& socket, const std::string& name);

// Removes every container the agent made for this node root: called when no job runs there.
std::vector<std::string> remove_leftover_containers(const std::string& socket,
                                                    const std::string& root);

}  // namespace batchai
