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

// The container of the job with this uuid on this node (a multi-node job's node: its index in
// the gang, as several nodes of one job may share an engine in tests).
std::string job_container_name(const std::string& job_uuid, std::optional<int> gang_index);

// Pulls, creates and starts the job's container. FailedStartingContainer with the image's name
// and the engine's or registry's words on failure; nothing is left behind then.
std::optional<JobError> start_job_container(const PlannedJob& job, const std::string& root,
                                            const std::string& socket);

// Where a multi-node job's sshd is in its image (Debian's and Ubuntu's openssh-server).
inline constexpr const char* kSshdInImage = "/usr/sbin/sshd";

// A multi-node job's container can run the job's sshd: `sshd -t` with the job's settings, in
// the container. FailedStartingContainer naming the image, with what sshd (or the engine) said,
// when it cannot: an image without OpenSSH's server.
std::optional<JobError> check_sshd_in_container(const PlannedJob& job, const std::string& socket,
                                                const std::string& sshd_config);

// The create request's body (exposed for tests: the GPU device request, binds, labels).
nlohmann::json job_container_body(const PlannedJob& job, const std::string& root,
                                  const std::string& image, const std::string& pause_path,
                                  const std::string& job_shell_path);

// Removes the containers of the job with this uuid on this node root (labelled so when made: an
// agent that dies between creating and recording one still finds it). None is fine.
std::vector<std::string> remove_job_containers(const std::string& socket, const std::string& root,
                                               const std::string& job_uuid);

// Removes every container the agent made for this node root: called when no job runs there.
std::vector<std::string> remove_leftover_containers(const std::string& socket,
                                                    const std::string& root);

}  // namespace batchai
