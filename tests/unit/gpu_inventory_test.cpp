// GPU inventory and health through NVML, with the tests' fake NVML (tests/gpu/fake_nvml.cpp):
// the agent's own dlopen path, on a machine without GPUs.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "heartbeat/gpu_inventory.hpp"

namespace batchai {
namespace {

class GpuInventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/fake_nvml.conf";
    ::setenv("FAKE_NVML_CONFIG", path_.c_str(), 1);
  }
  void configure(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(GpuInventoryTest, NoLibraryMeansNoGpusAndNoError) {
  auto inv = read_gpu_inventory("/nonexistent/libnvidia-ml.so.1");
  // Without NVML the agent looks for nvidia-smi; on these machines there is none either.
  EXPECT_TRUE(inv.gpus.empty());
  EXPECT_TRUE(inv.error.empty());
}

TEST_F(GpuInventoryTest, CountsNamesUuidsMemoryAndDriver) {
  configure("gpus=2\n");
  auto inv = read_gpu_inventory(FAKE_NVML_PATH);
  EXPECT_EQ(inv.source, "nvml");
  EXPECT_TRUE(inv.error.empty()) << inv.error;
  EXPECT_EQ(inv.driver_version, "535.0-fake");
  ASSERT_EQ(inv.gpus.size(), 2u);
  EXPECT_EQ(inv.gpus[1].uuid, "GPU-fake-1");
  EXPECT_EQ(inv.gpus[0].name, "Fake GPU");
  EXPECT_EQ(inv.gpus[0].memory_bytes, 16LL << 30);
  EXPECT_EQ(all_devices(2), "0,1");
  EXPECT_TRUE(gpu_health_problems(inv, inv).empty());
}

TEST_F(GpuInventoryTest, ADriverThatFailsAGpuGoneAndEccErrorsAreProblems) {
  configure("gpus=2\n");
  auto start = read_gpu_inventory(FAKE_NVML_PATH);
  configure("gpus=1\n");
  auto problems = gpu_health_problems(start, read_gpu_inventory(FAKE_NVML_PATH));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "1 of 2 GPUs are gone: GPU-fake-1");
  configure("gpus=2\necc=3\n");
  problems = gpu_health_problems(start, read_gpu_inventory(FAKE_NVML_PATH));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "GPU GPU-fake-0 (Fake GPU) has 3 uncorrectable ECC errors");
  configure("init=9\n");
  auto broken = read_gpu_inventory(FAKE_NVML_PATH);
  EXPECT_EQ(broken.error, "the NVIDIA driver does not initialise: Driver Not Loaded (NVML 9)");
  EXPECT_FALSE(gpu_health_problems(start, broken).empty());
}

TEST_F(GpuInventoryTest, WithoutNvmlNvidiaSmiIsAsked) {
  const std::string tool = ::testing::TempDir() + "/fake-nvidia-smi";
  std::ofstream(tool) << "#!/bin/sh\n"
                         "echo 'NVIDIA H100 80GB HBM3, GPU-aaaa, 81559, 550.54.15'\n"
                         "echo 'NVIDIA H100 80GB HBM3, GPU-bbbb, 81559, 550.54.15'\n";
  ::chmod(tool.c_str(), 0755);
  ::setenv("BATCHAI_NVIDIA_SMI", tool.c_str(), 1);
  auto inv = read_gpu_inventory("/nonexistent/libnvidia-ml.so.1");
  ::unsetenv("BATCHAI_NVIDIA_SMI");
  EXPECT_EQ(inv.source, "nvidia-smi");
  ASSERT_EQ(inv.gpus.size(), 2u);
  EXPECT_EQ(inv.gpus[1].uuid, "GPU-bbbb");
  EXPECT_EQ(inv.gpus[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(inv.gpus[0].memory_bytes, 81559LL * 1024 * 1024);
  EXPECT_EQ(inv.driver_version, "550.54.15");
}

}  // namespace
}  // namespace batchai
