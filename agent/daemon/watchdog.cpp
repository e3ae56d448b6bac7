#include "agent/daemon/watchdog.hpp"

#include <systemd/sd-daemon.h>

namespace batchai {

Watchdog Watchdog::from_environment() {
  Watchdog w;
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(1, &usec) > 0) w.interval_us_ = usec;
  return w;
}

void Watchdog::ensure_at_least(std::uint64_t min_us, std::string* why) {
  if (!enabled() || interval_us_ >= min_us) return;
  if (why) {
    *why = "WatchdogSec=" + std::to_string(interval_us_ / 1000000) +
           "s is shorter than a turn of the main loop may take (a control-plane request); " +
           "the agent uses " + std::to_string(min_us / 1000000) + "s";
  }
  interval_us_ = min_us;
  sd_notifyf(0, "WATCHDOG_USEC=%llu", static_cast<unsigned long long>(interval_us_));
}

void Watchdog::ping() const {
  if (enabled()) sd_notify(0, "WATCHDOG=1");
}

Watchdog::Allowance Watchdog::allow(std::int64_t bound_ms) const {
  if (!enabled()) return Allowance(nullptr);
  const auto usec = static_cast<unsigned long long>(bound_ms) * 1000ULL + interval_us_;
  // One message: the new timeout and a ping, so the step's time counts from now.
  sd_notifyf(0, "WATCHDOG_USEC=%llu\nWATCHDOG=1", usec);
  return Allowance(this);
}

Watchdog::Allowance::~Allowance() {
  if (owner_ == nullptr) return;
  sd_notifyf(0, "WATCHDOG_USEC=%llu\nWATCHDOG=1",
             static_cast<unsigned long long>(owner_->interval_us_));
}

}  // namespace batchai
