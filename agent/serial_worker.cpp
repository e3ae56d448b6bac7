#include "agent/serial_worker.hpp"

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

void SerialWorker::loop() {
  for (;;) {
    std::function<void()> step;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and nothing left
      step = std::move(queue_.front());
      queue_.pop_front();
    }
    step();
  }
}

}  // namespace batchai
