#include "heartbeat/gpu_health.hpp"

#include "common/time.hpp"

namespace batchai {

const GpuInventory& GpuHealth::start() {
  at_start_ = read_gpu_inventory();
  next_check_ms_ = 0;
  check_if_due(mono_ms());
  return at_start_;
}

bool GpuHealth::check_if_due(std::int64_t now_ms) {
  if (now_ms < next_check_ms_) return false;
  next_check_ms_ = now_ms + check_ms_;
  std::vector<JobError> errors;
  for (const auto& p : gpu_health_problems(at_start_, read_gpu_inventory())) {
    errors.push_back({"GPUFailure", p, {}});
  }
  const bool changed = errors.size() != errors_.size();
  errors_ = std::move(errors);
  return changed;
}

}  // namespace batchai
