// The agent's stop, and the one place its threads wait: the main loop for its next turn or a new
// desired state, the poller and registration between attempts. A stop wakes every waiter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace batchai {

class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }
  bool requested() const { return stop_; }
  // For what only looks now and then (a request under way, a set-up between its steps).
  const std::atomic<bool>& flag() const { return stop_; }

  // Waits up to ms, or until a stop, or until `ready` (asked under the lock) is true. Returns
  // false when stopping.
  bool wait_ms(std::int64_t ms, const std::function<bool()>& ready = nullptr) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms),
                 [&] { return stop_.load() || (ready && ready()); });
    return !stop_;
  }
  // Runs `change` under the lock, then wakes the waiters so they ask `ready` again.
  void publish(const std::function<void()>& change) {
    {
      std::lock_guard lock(mu_);
      change();
    }
    cv_.notify_all();
  }
  // Runs `read` under the lock.
  void with_lock(const std::function<void()>& read) {
    std::lock_guard lock(mu_);
    read();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
};

}  // namespace batchai
