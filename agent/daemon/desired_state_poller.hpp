// The long poll of the node's desired state (docs/protocol.md), on a thread of its own so that a
// poll that waits a minute never holds up the main loop. What it receives waits in a mailbox for
// the loop's next turn; a newer state replaces one not yet taken.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/stop_signal.hpp"
#include "protocol/messages.hpp"

namespace batchai {

class DesiredStatePoller {
 public:
  DesiredStatePoller(const DaemonConfig& config, StopSignal& stop) : cfg_(config), stop_(stop) {}
  DesiredStatePoller(const DesiredStatePoller&) = delete;
  DesiredStatePoller& operator=(const DesiredStatePoller&) = delete;
  ~DesiredStatePoller() { join(); }

  // How long to wait and how often to ask: the registration's, then each desired state's.
  void set_poll(const protocol::PollSettings& poll);
  void start();
  // Ends with the agent's stop (its request under way is aborted).
  void join();
  // Waits up to ms for a desired state not yet taken; none when none came (or the agent stops).
  std::optional<protocol::DesiredState> take_new(std::int64_t ms);
  // When (mono_ms) the control plane last answered a poll with a desired state (or its "no
  // change"); 0 before it has.
  std::int64_t answered_ms() const { return answered_ms_.load(); }

 private:
  void loop();
  protocol::PollSettings poll() {
    protocol::PollSettings p;
    stop_.with_lock([&] { p = poll_; });
    return p;
  }

  const DaemonConfig& cfg_;
  StopSignal& stop_;
  protocol::PollSettings poll_;                    // guarded by stop_'s lock
  std::optional<protocol::DesiredState> pending_;  // guarded by stop_'s lock
  std::atomic<std::int64_t> answered_ms_{0};
  std::thread thread_;
};

}  // namespace batchai
