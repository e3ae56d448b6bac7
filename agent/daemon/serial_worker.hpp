// One thread that takes the daemon's long steps off its main loop: a job's set-up (directories,
// mounts, an image pull, the supervisor's start) and a job's take-down (the container, unmounts
// that wait for a FUSE driver's upload). Steps run one at a time in the order they were posted,
// so a job's take-down is always over before the next job's set-up begins, as when the loop did
// both itself; meanwhile the loop goes on reporting, heartbeating and serving the watchdog.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace batchai {

class SerialWorker {
 public:
  SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;
  // Runs what is still queued, then joins: steps see the daemon's stop themselves and end early.
  ~SerialWorker();

  void post(std::function<void()> step);

  // Waits at most `ms` for the queue to be empty and no step to run; returns whether it is.
  bool wait_drained_for(std::int64_t ms);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool closing_ = false;                     // guarded by mu_
  bool running_ = false;                     // guarded by mu_: a step is under way
  std::thread thread_;                       // last: starts once the rest exists
};

}  // namespace batchai
