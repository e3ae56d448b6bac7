#include "agent/daemon/reporter.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>

#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"

namespace batchai {

Reporter::Reporter(const DaemonConfig& config, std::function<nlohmann::json()> facts,
                   std::function<std::int64_t()> clock)
    : cfg_(config), facts_(std::move(facts)), clock_(std::move(clock)) {}

void Reporter::load_sequence() {
  sequence_ = 0;
  if (auto text = read_file(StateLayout(cfg_.state_dir).node_record(), 4096)) {
    try {
      sequence_ = nlohmann::json::parse(*text).at("sequence").get<std::int64_t>();
    } catch (const nlohmann::json::exception&) {
      sequence_ = 0;
    }
  }
  // A report of this run must be newer than any of the last: skip ahead of a lost save.
  sequence_ += 1000;
}

void Reporter::save_sequence() const {
  (void)write_file_atomic(StateLayout(cfg_.state_dir).node_record(),
                          nlohmann::json{{"sequence", sequence_}}.dump() + "\n", 0600);
}

void Reporter::note_state(const std::string& state) {
  if (state == state_) return;
  state_ = state;
  spdlog::info("node state: {}", state_);
  sd_notifyf(0, "STATUS=%s", state_.c_str());
}

// For `batchai-agent status` on the node.
void Reporter::write_local(const nlohmann::json& content) {
  if (content == last_written_) return;
  nlohmann::json local = content;
  local["updated"] = iso8601_utc(wall_ms());
  local.erase("bootId");
  (void)write_file_atomic(StateLayout(cfg_.state_dir).node_status(), local.dump(2) + "\n", 0600);
  last_written_ = content;
}

void Reporter::send_if_changed(ControlPlaneChannel& channel, protocol::NodeReport report) {
  note_state(report.node_state);
  nlohmann::json content = protocol::to_json(report);
  content.erase("sequence");
  write_local(content);
  // The heartbeat: the node's facts go with every heartbeatSeconds, not into the comparison
  // (load and free disk change all the time).
  const bool heartbeat_due = clock_() >= next_heartbeat_ms_;
  if ((content == last_acked_ && !heartbeat_due) || clock_() < next_attempt_ms_) return;
  report.facts = facts_();
  report.sequence = ++sequence_;
  save_sequence();
  auto resp = channel.request("PUT", "/v1/nodes/" + cfg_.node_id + "/state",
                              protocol::to_json(report).dump(), cfg_.request_timeout_seconds);
  if (resp && resp->status == 200) {
    last_acked_ = content;
    next_heartbeat_ms_ = clock_() + cfg_.heartbeat_seconds * 1000LL;
    backoff_.reset();
    next_attempt_ms_ = 0;
    return;
  }
  std::int64_t floor_ms = 0;
  bool unreachable = false;
  if (!resp) {
    spdlog::warn("state report: {}", resp.error().message);
    unreachable = resp.error().kind == ErrorKind::kUnreachable;
  } else {
    spdlog::warn("state report: the control plane answered {}", resp->status);
    if (resp->retry_after_seconds) floor_ms = *resp->retry_after_seconds * 1000LL;
  }
  failed_ms_ = clock_();
  next_attempt_ms_ = failed_ms_ + backoff_.next_ms(floor_ms, unreachable);
}

void Reporter::control_plane_answered(std::int64_t at_ms) {
  if (next_attempt_ms_ == 0 || at_ms <= failed_ms_) return;
  backoff_.reset();
  next_attempt_ms_ = std::min(next_attempt_ms_, clock_() + backoff_.next_ms());
  failed_ms_ = at_ms;  // this answer is taken into account
}

}  // namespace batchai
