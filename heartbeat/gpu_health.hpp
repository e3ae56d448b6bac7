// The GPUs' health as a node condition: the inventory at start is the reference, and every
// gpuCheckSeconds the GPUs are looked at again (heartbeat/gpu_inventory.hpp says what counts as
// failed: a driver that fails, a GPU gone, uncorrectable ECC errors).
#pragma once

#include <cstdint>
#include <vector>

#include "common/job_error.hpp"
#include "heartbeat/gpu_inventory.hpp"

namespace batchai {

class GpuHealth {
 public:
  explicit GpuHealth(int check_seconds) : check_ms_(check_seconds * 1000LL) {}

  // Takes the reference inventory and checks it; returns it.
  const GpuInventory& start();
  // Checks again when due; returns whether the errors changed.
  bool check_if_due(std::int64_t now_ms);
  // GPUFailure errors: non-empty, the node is unusable.
  const std::vector<JobError>& errors() const { return errors_; }

 private:
  std::int64_t check_ms_;
  std::int64_t next_check_ms_ = 0;
  GpuInventory at_start_;
  std::vector<JobError> errors_;
};

}  // namespace batchai
