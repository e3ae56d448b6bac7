// The state, its lock and its file. Every change is made on a copy, written to
// <state dir>/state.json (mode 0600: it holds job secrets) with write_file_atomic, and only then
// becomes the current state, so what a client was told has happened survives a restart.
// Long-polls wait on one condition variable, woken by every committed change.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "controlplane/model.hpp"

namespace batchai::cp {

// What a change did, one log line each, logged once the change is saved.
using Events = std::vector<std::string>;

class Store {
 public:
  // Creates the directory (0700) if needed, takes its lock (one control plane per state dir),
  // loads state.json if it exists and makes sure the default cluster exists.
  static Result<std::unique_ptr<Store>> open(const std::string& state_dir,
                                             const std::string& default_cluster);

  // Runs read on the current state under the lock.
  template <typename F>
  auto read(F&& read) {
    std::lock_guard lock(mu_);
    return read(static_cast<const State&>(state_));
  }

  // Runs change on a copy of the state; when it returns true, saves the copy and makes it the
  // current state, then logs the events and wakes the long-polls. An Error: it could not be
  // saved, and nothing changed.
  Status modify(const std::function<bool(State&, Events&)>& change);

  // A change that is kept in memory only and saved with the next modify (a node's last-seen).
  void touch(const std::function<void(State&)>& change);

  // Waits until ready(state) holds, wait_ms passed or the store shuts down, then runs
  // read(state, ready(state)) under the lock.
  template <typename Ready, typename F>
  auto wait_then_read(Ready&& ready, std::int64_t wait_ms, F&& read) {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    const State& s = state_;
    cv_.wait_until(lock, deadline, [&] { return stopping_ || ready(s); });
    return read(s, ready(s));
  }

  // Wakes every long-poll; they answer at once from then on.
  void shutdown();
  // Waits up to wait_ms (less when the state changes); returns false once the store shuts down.
  bool wait_unless_stopping(std::int64_t wait_ms);

 private:
  Store() = default;
  Status save(const State& state);

  std::mutex mu_;
  std::condition_variable cv_;
  State state_;
  bool stopping_ = false;
  std::string path_;
  UniqueFd lock_fd_;
};

}  // namespace batchai::cp
