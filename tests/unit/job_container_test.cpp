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
  job.plan.job_id = "uuid-1";
  return job;
}

TEST(JobContainer, GpusAskForNvidiasRuntimeAndOnlyThen) {
  auto with = job_container_body(container_job(2), "/mnt/batch/tasks", "img", "/p");
  ASSERT_TRUE(with["HostConfig"].contains("DeviceRequests"));
  EXPECT_EQ(with["HostConfig"]["DeviceRequests"],
            nlohmann::json::parse(R"([{"Driver":"nvidia","Count":-1,"Capabilities":[["gpu"]]}])"));
  auto without = job_container_body(container_job(0), "/mnt/batch/tasks", "img", "/p");
  EXPECT_FALSE(without["HostConfig"].contains("DeviceRequests"));
}

TEST(JobContainer, SamePathsHostNetworkShmAndLabels) {
  auto body = job_container_body(container_job(0), "/mnt/batch/tasks", "img", "/opt/pause");
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
  auto binds = job_container_body(job, "/mnt/batch/tasks", "img", "/p")["HostConfig"]["Binds"];
  EXPECT_EQ(binds, nlohmann::json::parse(R"(["/mnt/batch/tasks:/mnt/batch/tasks",
                                             "/tmp:/tmp:ro", "/p:/.batchai/pause:ro"])"));
}

}  // namespace
}  // namespace batchai
