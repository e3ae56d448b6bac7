// The create request of a job's container: what the engine is asked for, checked without one
// (the container jobs themselves run against a real dockerd in tests/containers).
#include <gtest/gtest.h>

#include "agent/job/job_container.hpp"

namespace batchai {
namespace {

PlannedJob container_job(int gpus) {
  PlannedJob job;
  job.container = ContainerSettings{};
  job.container->image = "example/image:1";
  job.container->shm_size_bytes = 64 << 20;
  job.gpu_count = gpus;
  job.stdouterr_dir = "/logs/x/stdouterr";  // outside the root: bound at the same path
  job.outputs.push_back({"MODEL", "/mnt/batch/tasks/shared/LS_root/mounts/out"});  // inside
  job.job_uuid = "uuid-1";
  return job;
}

TEST(JobContainer, GpusAskForNvidiasRuntimeAndOnlyThen) {
  auto with = job_container_body(container_job(2), "/mnt/batch/tasks", "img", "/p", "/s");
  ASSERT_TRUE(with["HostConfig"].contains("DeviceRequests"));
  EXPECT_EQ(with["HostConfig"]["DeviceRequests"],
            nlohmann::json::parse(R"([{"Driver":"nvidia","Count":-1,"Capabilities":[["gpu"]]}])"));
  auto without = job_container_body(container_job(0), "/mnt/batch/tasks", "img", "/p", "/s");
  EXPECT_FALSE(without["HostConfig"].contains("DeviceRequests"));
}

TEST(JobContainer, SamePathsHostNetworkShmAndLabels) {
  auto body = job_container_body(container_job(0), "/mnt/batch/tasks", "img", "/opt/pause", "/s");
  const auto& host = body["HostConfig"];
  EXPECT_EQ(host["NetworkMode"], "host");
  EXPECT_EQ(host["ShmSize"], 64 << 20);
  // The root, the pause binary; /logs/x/stdouterr only when it exists on the node.
  EXPECT_EQ(host["Binds"][0], "/mnt/batch/tasks:/mnt/batch/tasks");
  EXPECT_EQ(host["Binds"].back(), "/opt/pause:/.batchai/pause:ro");
  EXPECT_EQ(body["Entrypoint"][0], "/.batchai/pause");
  EXPECT_EQ(body["Labels"]["batchai-agent.root"], "/mnt/batch/tasks");
  EXPECT_EQ(body["Labels"]["batchai-agent.job"], "uuid-1");
  EXPECT_FALSE(body.contains("Env"));  // secrets go to each command's exec, never here
}

TEST(JobContainer, InputsOutsideTheRootAreBoundReadOnly) {
  PlannedJob job = container_job(0);
  job.input_paths = {"/tmp", "/mnt/batch/tasks/shared/LS_root/mounts/data"};
  auto binds =
      job_container_body(job, "/mnt/batch/tasks", "img", "/p", "/s")["HostConfig"]["Binds"];
  EXPECT_EQ(binds, nlohmann::json::parse(R"(["/mnt/batch/tasks:/mnt/batch/tasks",
                                             "/tmp:/tmp:ro", "/p:/.batchai/pause:ro"])"));
}

TEST(JobContainer, AMultiNodeJobsSshFilesShellAndPrivilegeSeparationDirectory) {
  PlannedJob job = container_job(0);
  job.ssh_dir = "/var/lib/batchai-agent/jobs/uuid-1/ssh";
  auto host =
      job_container_body(job, "/mnt/batch/tasks", "img", "/p", "/usr/libexec/js")["HostConfig"];
  EXPECT_EQ(host["Binds"], nlohmann::json::parse(R"(["/mnt/batch/tasks:/mnt/batch/tasks",
      "/p:/.batchai/pause:ro",
      "/var/lib/batchai-agent/jobs/uuid-1/ssh:/var/lib/batchai-agent/jobs/uuid-1/ssh:ro",
      "/usr/libexec/js:/.batchai/job-shell:ro"])"));
  EXPECT_EQ(host["Tmpfs"],
            nlohmann::json::parse(R"({"/run/sshd": "mode=0755,size=1m,nosuid,nodev,noexec"})"));
  // A one-node job gets none of it.
  EXPECT_FALSE(job_container_body(container_job(0), "/r", "img", "/p", "/s")["HostConfig"].contains(
      "Tmpfs"));
}

TEST(JobContainer, InfiniBandDevicesAndUnlimitedMemlockButNotTheNodesIpc) {
  PlannedJob job = container_job(0);
  job.infiniband_devices = {"/dev/infiniband/rdma_cm", "/dev/infiniband/uverbs0"};
  auto host = job_container_body(job, "/r", "img", "/p", "/s")["HostConfig"];
  EXPECT_EQ(host["Devices"], nlohmann::json::parse(R"([
      {"PathOnHost": "/dev/infiniband/rdma_cm", "PathInContainer": "/dev/infiniband/rdma_cm",
       "CgroupPermissions": "rw"},
      {"PathOnHost": "/dev/infiniband/uverbs0", "PathInContainer": "/dev/infiniband/uverbs0",
       "CgroupPermissions": "rw"}])"));
  EXPECT_EQ(host["Ulimits"],
            nlohmann::json::parse(R"([{"Name": "memlock", "Soft": -1, "Hard": -1}])"));
  EXPECT_FALSE(host.contains("IpcMode"));  // the container's own: nothing outlives it
  EXPECT_EQ(host["ShmSize"], 64 << 20);
  // Without the fabric: none of it, and the job's shmSize.
  auto plain = job_container_body(container_job(0), "/r", "img", "/p", "/s")["HostConfig"];
  EXPECT_FALSE(plain.contains("Devices") || plain.contains("Ulimits") || plain.contains("IpcMode"));
  EXPECT_EQ(plain["ShmSize"], 64 << 20);
}

TEST(JobContainer, EachNodeOfAGangHasItsOwnContainerName) {
  EXPECT_EQ(job_container_name("u", std::nullopt), "batchai-job-u");
  EXPECT_EQ(job_container_name("u", 2), "batchai-job-u.2");
}

}  // namespace
}  // namespace batchai
