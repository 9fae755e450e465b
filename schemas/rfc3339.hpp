// RFC 3339 time stamps for the CloudEvents `time` attribute: written as UTC with milliseconds
// ("2026-11-20T10:00:00.123Z"), read with any offset and an optional fraction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/outcome.hpp"

namespace eventide::events {

/// Formats ms since the Unix epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). Meaningful for years
/// 0000..9999; anything else yields text the envelope schema rejects.
std::string format_time(int64_t ms_since_epoch);

/// Parses "YYYY-MM-DDTHH:MM:SS[.f+](Z|+hh:mm|-hh:mm)" ('t'/'z' also accepted) into ms since
/// the epoch; fraction digits beyond milliseconds are truncated; second 60 (a leap second)
/// rolls over. Failure: "invalid time '<text>': <rule>".
outcome<int64_t> parse_time(std::string_view text);

} // namespace eventide::events
