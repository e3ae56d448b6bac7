// Exponential backoff with full jitter (250 ms doubling to 2 minutes), reset after a success.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace batchai {

class Backoff {
 public:
  // The delay before the next attempt, in milliseconds; at least floor_ms (e.g. Retry-After).
  std::int64_t next_ms(std::int64_t floor_ms = 0) {
    std::int64_t cap = std::min<std::int64_t>(kMaxMs, kFirstMs << std::min(attempt_, 20));
    ++attempt_;
    std::uniform_int_distribution<std::int64_t> pick(0, cap);
    return std::max(floor_ms, pick(rng_));
  }
  void reset() { attempt_ = 0; }

 private:
  static constexpr std::int64_t kFirstMs = 250;
  static constexpr std::int64_t kMaxMs = 120000;
  int attempt_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace batchai
