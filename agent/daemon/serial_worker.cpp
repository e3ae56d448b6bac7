#include "agent/daemon/serial_worker.hpp"

#include <chrono>
#include <utility>

namespace batchai {

SerialWorker::SerialWorker() : thread_([this] { loop(); }) {}

SerialWorker::~SerialWorker() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SerialWorker::post(std::function<void()> step) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(step));
  }
  cv_.notify_all();
}

bool SerialWorker::wait_drained_for(std::int64_t ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms),
                      [&] { return queue_.empty() && !running_; });
}

void SerialWorker::loop() {
  for (;;) {
    std::function<void()> step;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and nothing left
      step = std::move(queue_.front());
      queue_.pop_front();
      running_ = true;
    }
    step();
    {
      std::lock_guard lock(mu_);
      running_ = false;
    }
    cv_.notify_all();
  }
}

}  // namespace batchai
