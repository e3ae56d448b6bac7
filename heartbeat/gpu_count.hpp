// How many NVIDIA GPUs this node has, from the driver's /proc/driver/nvidia/gpus (one directory
// per GPU): enough for AZ_BATCHAI_NUM_GPUS. The full inventory and health checks through NVML
// belong to the node-lifecycle work.
#pragma once

#include <string>

namespace batchai {

// 0 when there is no NVIDIA driver. proc_dir is a parameter for tests.
int count_gpus(const std::string& proc_dir = "/proc/driver/nvidia/gpus");

}  // namespace batchai
