#include "agent/daemon/desired_state_poller.hpp"

#include <spdlog/spdlog.h>

#include "agent/daemon/http_client.hpp"
#include "common/backoff.hpp"
#include "common/time.hpp"

namespace batchai {

void DesiredStatePoller::set_poll(const protocol::PollSettings& poll) {
  stop_.publish([&] { poll_ = poll; });
}

void DesiredStatePoller::start() {
  thread_ = std::thread([this] { loop(); });
}

void DesiredStatePoller::join() {
  if (thread_.joinable()) thread_.join();
}

std::optional<protocol::DesiredState> DesiredStatePoller::take_new(std::int64_t ms) {
  std::optional<protocol::DesiredState> taken;
  stop_.wait_ms(ms, [&] { return pending_.has_value(); });
  stop_.with_lock([&] { taken.swap(pending_); });
  return taken;
}

void DesiredStatePoller::loop() {
  auto http = HttpClient::create(cfg_);
  if (!http) return;
  http->set_abort_flag(&stop_.flag());
  Backoff backoff;
  std::int64_t version = 0;
  std::optional<protocol::DesiredState> last;
  while (!stop_.requested()) {
    const protocol::PollSettings settings = poll();
    auto resp =
        http->request("GET",
                      "/v1/nodes/" + cfg_.node_id + "/desired?after=" + std::to_string(version) +
                          "&wait=" + std::to_string(settings.poll_wait_seconds),
                      "", settings.poll_wait_seconds + cfg_.request_timeout_seconds);
    if (stop_.requested()) break;
    std::int64_t delay = settings.min_request_interval_ms;
    if (!resp) {
      spdlog::warn("desired state: {}", resp.error().message);
      delay = backoff.next_ms(delay, resp.error().kind == ErrorKind::kUnreachable);
    } else if (resp->status == 304) {
      answered_ms_ = mono_ms();
      backoff.reset();
      // The same desired state again: it confirms what the last one said (a task it no longer
      // lists is terminated on the second word, docs/protocol.md), so say it again.
      if (last) stop_.publish([&] { pending_ = *last; });
    } else if (resp->status == 200) {
      auto desired = protocol::desired_state_from(resp->body);
      if (!desired) {
        spdlog::warn("desired state: bad response: {}", desired.error().message);
        delay = backoff.next_ms(delay);
      } else {
        answered_ms_ = mono_ms();
        backoff.reset();
        version = desired->version;
        last = *desired;
        stop_.publish([&] {
          poll_ = desired->poll;
          pending_ = std::move(*desired);
        });
      }
    } else {
      spdlog::warn("desired state: the control plane answered {}", resp->status);
      std::int64_t floor_ms = resp->retry_after_seconds ? *resp->retry_after_seconds * 1000LL : 0;
      delay = backoff.next_ms(std::max(delay, floor_ms));
    }
    if (delay > 0 && !stop_.wait_ms(delay)) break;
  }
}

}  // namespace batchai
