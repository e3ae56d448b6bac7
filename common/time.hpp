// Wall-clock formatting and the duration formats a job document may use.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace batchai {

// Milliseconds since the Unix epoch, from CLOCK_REALTIME.
std::int64_t wall_ms();

// Milliseconds from CLOCK_MONOTONIC.
std::int64_t mono_ms();

// "2018-06-14T22:22:59.838Z" for the given wall-clock milliseconds.
std::string iso8601_utc(std::int64_t epoch_ms);

// Parses a duration as Batch AI accepted it: ISO 8601 ("P7D", "PT1H30M", "P1DT0.5S") or
// .NET TimeSpan ("7.00:00:00", "01:30:00"). Returns whole milliseconds.
Result<std::int64_t> parse_duration_ms(const std::string& text);

}  // namespace batchai
