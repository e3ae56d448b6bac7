// Sends the node's report (docs/protocol.md) whenever what it says changes, and at least every
// heartbeatSeconds with the node's facts; retries with backoff until the control plane has it.
// Every report carries a sequence number above any this node sent before, kept in node.json
// across restarts. Also keeps node-status.json for `batchai-agent status` on the node.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/control_plane_channel.hpp"
#include "common/backoff.hpp"
#include "protocol/messages.hpp"

namespace batchai {

class Reporter {
 public:
  // `facts` gives the node's facts for a report that goes out (heartbeat/node_facts.hpp);
  // `clock` the time in milliseconds (monotonic; the unit tests give their own).
  Reporter(const DaemonConfig& config, std::function<nlohmann::json()> facts,
           std::function<std::int64_t()> clock);

  // Reads the last sequence number (node.json) and skips ahead of a save that may be lost.
  void load_sequence();
  // Records the report in node-status.json when it changed, and sends it when it changed since
  // the last one the control plane has, or the heartbeat is due, unless a retry waits.
  void send_if_changed(ControlPlaneChannel& channel, protocol::NodeReport report);
  // The control plane answered another request (a poll) at at_ms (this reporter's clock): a
  // report waiting out the backoff of a failure before then goes out on the next call but for a
  // jitter of at most 250 ms, which spreads the fleet's reports when the control plane returns.
  void control_plane_answered(std::int64_t at_ms);
  // Whether the control plane has the last report: nothing waits to be retried.
  bool acknowledged() const { return next_attempt_ms_ == 0; }
  std::int64_t sequence() const { return sequence_; }

 private:
  void note_state(const std::string& state);
  void write_local(const nlohmann::json& content);
  void save_sequence() const;

  const DaemonConfig& cfg_;
  std::function<nlohmann::json()> facts_;
  std::function<std::int64_t()> clock_;
  std::int64_t sequence_ = 0;
  nlohmann::json last_acked_;    // the report content the control plane has
  nlohmann::json last_written_;  // the report content in node-status.json
  std::string state_;            // the node state last reported, for the log and systemd
  std::int64_t next_heartbeat_ms_ = 0;
  std::int64_t next_attempt_ms_ = 0;  // 0: no retry waits
  std::int64_t failed_ms_ = 0;        // when the attempt that made the retry wait failed
  Backoff backoff_;
};

}  // namespace batchai
