#include "agent/job/job_container.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "agent/job/helper_programs.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "exec/docker_engine.hpp"
#include "exec/job_shell.hpp"

namespace batchai {

namespace {

using nlohmann::json;

// How long the checks of a container's sshd may take: an engine that does not answer fails the
// job's set-up, never holds it.
constexpr int kContainerCheckSeconds = 60;

constexpr const char* kRootLabel = "batchai-agent.root";
constexpr const char* kJobLabel = "batchai-agent.job";
constexpr const char* kPauseInContainer = "/.batchai/pause";

// The image reference: imageSourceRegistry.image, behind serverUrl's host when it is not
// already named.
std::string image_reference(const ContainerSettings& c) {
  if (!c.server_url || c.server_url->empty()) return c.image;
  std::string host = *c.server_url;
  if (auto scheme = host.find("://"); scheme != std::string::npos) host = host.substr(scheme + 3);
  while (!host.empty() && host.back() == '/') host.pop_back();
  if (host.empty() || c.image.starts_with(host + "/")) return c.image;
  return host + "/" + c.image;
}

std::string registry_host(const std::string& image) {
  auto slash = image.find('/');
  if (slash == std::string::npos) return "";
  std::string first = image.substr(0, slash);
  // Docker's rule: the first part names a registry when it has a dot, a colon or is localhost.
  return first.find_first_of(".:") != std::string::npos || first == "localhost" ? first : "";
}

bool under(const std::string& path, const std::string& root) {
  return path == root || path.starts_with(root + "/");
}

}  // namespace

std::string job_container_name(const std::string& job_uuid, std::optional<int> gang_index) {
  return "batchai-job-" + job_uuid + (gang_index ? "." + std::to_string(*gang_index) : "");
}

json job_container_body(const PlannedJob& job, const std::string& root, const std::string& image,
                        const std::string& pause_path, const std::string& job_shell_path) {
  // The node's root (mount roots, job directories, job-level mounts below them, where the job
  // writes) and, read-only, its input directories outside it (the planner allowed them), each
  // at the same path inside.
  json binds = json::array({root + ":" + root});
  for (const auto& p : job.input_paths) {
    struct stat st {};
    if (under(p, root) || ::stat(p.c_str(), &st) != 0) continue;
    binds.push_back(std::string(p).append(":").append(p).append(":ro"));
  }
  binds.push_back(pause_path + ":" + kPauseInContainer + ":ro");
  json host = {{"NetworkMode", "host"}, {"Binds", binds}};
  if (!job.ssh_dir.empty()) {
    // A multi-node job's sshd runs in the container: its files (read-only, at the same path,
    // so the job's ssh and its settings work alike on the node and in the container), the
    // sessions' static shell, and the privilege separation directory sshd insists on.
    host["Binds"].push_back(job.ssh_dir + ":" + job.ssh_dir + ":ro");
    host["Binds"].push_back(job_shell_path + ":" + kJobShellInContainer + ":ro");
    host["Tmpfs"] = {{"/run/sshd", "mode=0755,size=1m,nosuid,nodev,noexec"}};
  }
  if (!job.infiniband_devices.empty()) {
    // RDMA as on the node: the verbs and connection manager devices (not umad or issm, which
    // speak to the fabric's management), and memory the NICs may pin without a limit. The
    // job's ranks on a node share the container's own IPC and /dev/shm, so the node's are not
    // needed, and nothing of the job outlives its container there.
    json devices = json::array();
    for (const auto& d : job.infiniband_devices) {
      devices.push_back({{"PathOnHost", d}, {"PathInContainer", d}, {"CgroupPermissions", "rw"}});
    }
    host["Devices"] = devices;
    host["Ulimits"] = json::array({{{"Name", "memlock"}, {"Soft", -1}, {"Hard", -1}}});
  }
  if (job.container->shm_size_bytes) host["ShmSize"] = *job.container->shm_size_bytes;
  if (job.gpu_count > 0) {
    host["DeviceRequests"] =
        json::array({{{"Driver", "nvidia"}, {"Count", -1}, {"Capabilities", {{"gpu"}}}}});
  }
  return {{"Image", image},
          {"Entrypoint", {kPauseInContainer}},
          {"Cmd", json::array()},
          {"Labels", {{kRootLabel, root}, {kJobLabel, job.job_uuid}}},
          {"HostConfig", host}};
}

std::optional<JobError> start_job_container(const PlannedJob& job, const std::string& root,
                                            const std::string& socket) {
  const ContainerSettings& c = *job.container;
  const std::string image = image_reference(c);
  auto fail = [&](const std::string& why) {
    (void)remove_job_containers(socket, root, job.job_uuid);
    return std::optional<JobError>(
        JobError{"FailedStartingContainer",
                 "cannot start the job's container from " + image + ": " + why,
                 {{"imageName", image}}});
  };
  // The engine resolves links when it binds: an input that is (or passes through) one could
  // bind anything of the host. Only the path the planner allowed is bound.
  for (const auto& p : job.input_paths) {
    if (under(p, root)) continue;  // inside the root's own bind: nothing of its own is bound
    std::error_code ec;
    const auto real = std::filesystem::canonical(p, ec);
    if (!ec && real.string() != p) {
      return fail("the input directory " + p + " resolves to " + real.string() +
                  " (a symbolic link): only the path itself may be bound");
    }
  }
  // The engine makes a directory where a bind's source is missing: the agent's own helpers are
  // checked first, so a broken installation is said as such.
  const std::string pause = helper_program("batchai-pause");
  const std::string job_shell = helper_program("batchai-job-shell");
  for (const auto& helper : {pause, job_shell}) {
    if (::access(helper.c_str(), X_OK) != 0) {
      return fail("the agent's " + helper + " is missing (" + errno_text(errno) +
                  "): reinstall the package");
    }
  }
  DockerEngine engine(socket);
  if (auto s = engine.ping(); !s) return fail(s.error().message);
  auto present = engine.has_image(image);
  if (!present) return fail(present.error().message);
  if (!*present) {
    std::optional<RegistryAuth> auth;
    if (c.username) auth = RegistryAuth{*c.username, c.password.value_or(""), registry_host(image)};
    if (auto s = engine.pull(image, auth); !s) {
      return fail("the pull failed: " + s.error().message +
                  (auth ? "" : " (no registry credentials were given)"));
    }
  }
  auto id =
      engine.create(job.container_name, job_container_body(job, root, image, pause, job_shell));
  if (!id) return fail(id.error().message);
  if (auto s = engine.start(*id); !s) return fail(s.error().message);
  return std::nullopt;
}

std::optional<JobError> check_sshd_in_container(const PlannedJob& job, const std::string& socket,
                                                const std::string& sshd_config) {
  const std::string image = image_reference(*job.container);
  UniqueFd said(::memfd_create("sshd-check", MFD_CLOEXEC));
  if (!said.valid()) return JobError{"JobSetupFailed", "memfd_create: " + errno_text(errno), {}};
  // sshd with the job's settings, then the sftp server the other nodes mount the shared job
  // temp through (job-shell finds it where the image's distribution put it).
  const std::vector<std::string> checks[] = {{kSshdInImage, "-t", "-f", sshd_config},
                                             {kJobShellInContainer, "--find-sftp-server"}};
  for (const auto& argv : checks) {
    auto code = DockerEngine(socket).exec(job.container_name, argv, {}, "/", said.get(), said.get(),
                                          nullptr, kContainerCheckSeconds);
    if (!code) {
      return JobError{"FailedStartingContainer",
                      "cannot check the job's sshd in its container: " + code.error().message,
                      {{"imageName", image}}};
    }
    if (*code == 0) continue;
    auto words = read_file("/proc/self/fd/" + std::to_string(said.get()), 4096);
    std::string why = "exit status " + std::to_string(*code);
    if (words && !words->empty()) why += ": " + *words;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    std::string message = "the image " + image;
    message.append(" cannot run the job's sshd (").append(kSshdInImage);
    message.append(
        ") and sftp server: a multi-node job in a container needs OpenSSH's server in "
        "its image, as Batch AI's Horovod images carried (");
    message.append(why).append(")");
    return JobError{"FailedStartingContainer", message, {{"imageName", image}}};
  }
  return std::nullopt;
}

std::vector<std::string> remove_job_containers(const std::string& socket, const std::string& root,
                                               const std::string& job_uuid) {
  if (job_uuid.empty() || ::access(socket.c_str(), F_OK) != 0) return {};
  DockerEngine engine(socket);
  // An agent before per-node names and job labels named it by the uuid alone.
  (void)engine.remove(job_container_name(job_uuid, std::nullopt));
  auto names =
      engine.list({std::string(kRootLabel) + "=" + root, std::string(kJobLabel) + "=" + job_uuid});
  if (!names) return {"the job's containers: " + names.error().message};
  std::vector<std::string> warnings;
  for (const auto& n : *names) {
    if (auto s = engine.remove(n); !s)
      warnings.push_back("the job's container " + n + ": " + s.error().message);
  }
  return warnings;
}

std::vector<std::string> remove_leftover_containers(const std::string& socket,
                                                    const std::string& root) {
  std::vector<std::string> warnings;
  if (::access(socket.c_str(), F_OK) != 0) return warnings;  // no engine: no containers
  DockerEngine engine(socket);
  auto names = engine.list({std::string(kRootLabel) + "=" + root});
  if (!names) return {"leftover containers: " + names.error().message};
  for (const auto& n : *names) {
    if (auto s = engine.remove(n); !s)
      warnings.push_back("leftover container " + n + ": " + s.error().message);
  }
  return warnings;
}

}  // namespace batchai
