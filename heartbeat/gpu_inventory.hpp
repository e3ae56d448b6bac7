// The node's NVIDIA GPUs, through NVML loaded at run time (dlopen of libnvidia-ml.so.1: the agent
// builds and runs where no driver is), with nvidia-smi as the fallback when NVML is missing but
// the tool is there; otherwise none. Also the health checks that make a node unusable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace batchai {

struct GpuInfo {
  std::string name;
  std::string uuid;
  std::int64_t memory_bytes = 0;
  std::int64_t ecc_uncorrected = 0;  // volatile uncorrectable ECC errors (0 when unsupported)
};

struct GpuInventory {
  std::string source = "none";  // "nvml", "nvidia-smi" or "none"
  std::string driver_version;
  std::vector<GpuInfo> gpus;
  std::string error;  // non-empty: a driver is there but does not work (the node is unusable)
};

// The NVML library: $BATCHAI_NVML_LIBRARY when set (tests, unusual installs), else
// libnvidia-ml.so.1 from the loader's path.
std::string nvml_library();

GpuInventory read_gpu_inventory(const std::string& library = nvml_library());

// Why the GPUs make the node unusable now, compared with what it had at start: a driver that
// fails, a GPU gone, uncorrectable ECC errors. Empty when healthy.
std::vector<std::string> gpu_health_problems(const GpuInventory& at_start, const GpuInventory& now);

// "0,1,...,n-1": CUDA_VISIBLE_DEVICES for a job that gets all n GPUs of the node.
std::string all_devices(int count);

}  // namespace batchai
