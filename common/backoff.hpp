// Exponential backoff with full jitter, reset after a success: 250 ms doubling to 2 minutes after
// a peer's error answer, to 4 s while the peer cannot be reached at all (refused connections cost
// it nothing, and a returning control plane is found within seconds).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace batchai {

class Backoff {
 public:
  // The delay before the next attempt, in milliseconds; at least floor_ms (e.g. Retry-After).
  std::int64_t next_ms(std::int64_t floor_ms = 0, bool unreachable = false) {
    const std::int64_t max = unreachable ? kMaxUnreachableMs : kMaxMs;
    std::int64_t cap = std::min<std::int64_t>(max, kFirstMs << std::min(attempt_, 20));
    ++attempt_;
    std::uniform_int_distribution<std::int64_t> pick(0, cap);
    return std::max(floor_ms, pick(rng_));
  }
  void reset() { attempt_ = 0; }

 private:
  static constexpr std::int64_t kFirstMs = 250;
  static constexpr std::int64_t kMaxMs = 120000;
  static constexpr std::int64_t kMaxUnreachableMs = 4000;
  int attempt_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace batchai
