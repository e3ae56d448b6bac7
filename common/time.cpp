#include "common/time.hpp"

#include <time.h>

#include <cctype>
#include <cstdio>

#include "common/text_pattern.hpp"

namespace batchai {

std::int64_t wall_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::int64_t mono_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string iso8601_utc(std::int64_t epoch_ms) {
  time_t secs = static_cast<time_t>(epoch_ms / 1000);
  tm parts{};
  ::gmtime_r(&secs, &parts);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(epoch_ms % 1000));
  return buf;
}

namespace {

// Durations longer than this (about 30 years) are refused rather than overflowing anything.
constexpr double kMaxMs = 1e12;

Result<std::int64_t> checked(double ms, const std::string& text) {
  if (ms <= 0) return err("duration \"" + text + "\" must be longer than zero");
  // The supervisor counts whole milliseconds: less would be a limit of zero.
  if (ms < 1) return err("duration \"" + text + "\" is shorter than a millisecond");
  if (ms > kMaxMs) return err("duration \"" + text + "\" is too long");
  return static_cast<std::int64_t>(ms);
}

}  // namespace

Result<std::int64_t> parse_duration_ms(const std::string& text) {
  static const TextPattern iso(
      R"(P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?)");
  static const TextPattern span(R"((?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?)");
  static const TextPattern words(R"((\d+) days?, (\d{1,2}):(\d{2}):(\d{2}))");
  std::vector<std::string> m;
  if (text.size() > 64) return err("duration is longer than 64 characters");
  if (iso.full_match(text, &m) && text != "P" && text.back() != 'T') {
    const double unit_ms[] = {7 * 86400e3, 86400e3, 3600e3, 60e3, 1e3};
    double ms = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      if (!m[i].empty()) ms += std::stod(m[i]) * unit_ms[i];
    }
    return checked(ms, text);
  }
  if (span.full_match(text, &m) || words.full_match(text, &m)) {
    double days = m[0].empty() ? 0 : std::stod(m[0]);
    int hours = std::stoi(m[1]), minutes = std::stoi(m[2]), seconds = std::stoi(m[3]);
    if (hours > 23 || minutes > 59 || seconds > 59) {
      return err("duration \"" + text + "\" has hours, minutes or seconds out of range");
    }
    double ms = days * 86400e3 + hours * 3600e3 + minutes * 60e3 + seconds * 1e3;
    if (m.size() > 4 && !m[4].empty()) ms += std::stod("0." + m[4]) * 1e3;
    return checked(ms, text);
  }
  return err("\"" + text +
             "\" is not a duration: use ISO 8601 (\"P7D\", \"PT2H30M\") or \"d.hh:mm:ss\"");
}

}  // namespace batchai
