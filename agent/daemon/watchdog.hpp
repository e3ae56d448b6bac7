// The systemd watchdog (WatchdogSec= in the unit), served from the daemon's main loop.
//
// The loop pings once per turn. A step it takes may block for longer than a turn, with a bound
// of its own (the cluster's volumes at start: each mount's attempts; a job's set-up and
// take-down run on the worker instead). Before such a step the loop raises the watchdog's
// timeout to the step's bound with WATCHDOG_USEC= and lowers it again after, so an agent stuck
// anywhere is still restarted, and a long but healthy step is not mistaken for a hang. Without
// a watchdog every call does nothing.
#pragma once

#include <cstdint>
#include <string>

namespace batchai {

class Watchdog {
 public:
  // Reads WATCHDOG_USEC/WATCHDOG_PID and removes them from the environment, so that the
  // processes the agent starts do not believe they are watched.
  static Watchdog from_environment();

  bool enabled() const { return interval_us_ > 0; }
  std::uint64_t interval_us() const { return interval_us_; }

  // At least `min_us`: a turn of the loop can block for a whole control-plane request, and the
  // watchdog must allow that. Says so in `why` when it raises the unit's setting.
  void ensure_at_least(std::uint64_t min_us, std::string* why);

  void ping() const;

  // The watchdog's timeout is `bound_ms` plus the interval until the guard ends.
  class Allowance {
   public:
    Allowance(const Allowance&) = delete;
    Allowance& operator=(const Allowance&) = delete;
    ~Allowance();

   private:
    friend class Watchdog;
    explicit Allowance(const Watchdog* owner) : owner_(owner) {}
    const Watchdog* owner_;
  };
  [[nodiscard]] Allowance allow(std::int64_t bound_ms) const;

 private:
  std::uint64_t interval_us_ = 0;
};

}  // namespace batchai
