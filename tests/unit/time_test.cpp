// Durations as job documents write them, and the wall-clock format of status files.
#include "common/time.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace batchai {
namespace {

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;

std::int64_t ms(const std::string& text) {
  auto r = parse_duration_ms(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : -1;
}

std::string error_of(const std::string& text) {
  auto r = parse_duration_ms(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r.value() : 0) << " ms";
  return r.ok() ? "" : r.error().message;
}

TEST(ParseDuration, Iso8601) {
  EXPECT_EQ(ms("P7D"), 7 * kDay);
  EXPECT_EQ(ms("PT1H30M"), kHour + 30 * kMinute);
  EXPECT_EQ(ms("P1DT2H"), kDay + 2 * kHour);
  EXPECT_EQ(ms("PT0.5S"), 500);
  EXPECT_EQ(ms("PT10M"), 10 * kMinute);
  EXPECT_EQ(ms("P1W"), 7 * kDay);
  EXPECT_EQ(ms("P1DT0.5S"), kDay + 500);
  EXPECT_EQ(ms("PT1H2M3S"), kHour + 2 * kMinute + 3 * kSecond);
}

TEST(ParseDuration, DotNetTimeSpan) {
  EXPECT_EQ(ms("7.00:00:00"), 7 * kDay);
  EXPECT_EQ(ms("01:30:00"), kHour + 30 * kMinute);
  EXPECT_EQ(ms("0:00:01"), kSecond);
  EXPECT_EQ(ms("1.02:03:04"), kDay + 2 * kHour + 3 * kMinute + 4 * kSecond);
  EXPECT_EQ(ms("00:00:01.25"), 1250);
}

TEST(ParseDuration, PythonTimedeltaAsTheCliPrintsIt) {
  EXPECT_EQ(ms("7 days, 0:00:00"), 7 * kDay);
  EXPECT_EQ(ms("1 day, 1:00:00"), kDay + kHour);
}

TEST(ParseDuration, Malformed) {
  const std::string hint = "is not a duration: use ISO 8601";
  for (const std::string text : {"", "P", "PT", "P1DT", "7 days", "-P1D", "1H", "P1H", "7",
                                 "7.00:00", "abc", "P1D ", " P1D"}) {
    SCOPED_TRACE(text);
    std::string e = error_of(text);
    EXPECT_NE(e.find(hint), std::string::npos) << e;
    EXPECT_NE(e.find("\"" + text + "\""), std::string::npos) << e;
  }
}

TEST(ParseDuration, OutOfRangeFields) {
  EXPECT_EQ(error_of("25:00:00"),
            "duration \"25:00:00\" has hours, minutes or seconds out of range");
  EXPECT_EQ(error_of("00:60:00"),
            "duration \"00:60:00\" has hours, minutes or seconds out of range");
  EXPECT_EQ(error_of("1 day, 0:00:61"),
            "duration \"1 day, 0:00:61\" has hours, minutes or seconds out of range");
}

TEST(ParseDuration, ZeroIsRefused) {
  EXPECT_EQ(error_of("P0D"), "duration \"P0D\" must be longer than zero");
  EXPECT_EQ(error_of("PT0S"), "duration \"PT0S\" must be longer than zero");
  EXPECT_EQ(error_of("00:00:00"), "duration \"00:00:00\" must be longer than zero");
}

TEST(ParseDuration, HugeIsRefused) {
  EXPECT_EQ(error_of("P99999D"), "duration \"P99999D\" is too long");
  EXPECT_EQ(error_of(std::string("P") + std::string(70, '1') + "D"),
            "duration is longer than 64 characters");
}

TEST(Iso8601Utc, FormatsMilliseconds) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc(1529014979838), "2018-06-14T22:22:59.838Z");
  EXPECT_EQ(iso8601_utc(1529014979007), "2018-06-14T22:22:59.007Z");
  EXPECT_EQ(iso8601_utc(951782400000), "2000-02-29T00:00:00.000Z");
}

TEST(Clocks, AdvanceAndAgree) {
  std::int64_t w = wall_ms();
  std::int64_t m1 = mono_ms();
  std::int64_t m2 = mono_ms();
  EXPECT_GT(w, 1529014979838);  // after the reference's own example time
  EXPECT_LE(m1, m2);
}

}  // namespace
}  // namespace batchai
