// Money in the shop: whole cents (int64) so totals, stock value and comparisons are exact;
// JSON shows them as numbers with two decimals (258.00).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace eventide::shop {

using cents = std::int64_t;

/// "258.00", "-0.50".
inline std::string format_cents(cents c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", c < 0 ? "-" : "",
                static_cast<long long>(std::llabs(c) / 100), static_cast<long long>(std::llabs(c) % 100));
  return buf;
}

/// `amount` rounded to the nearest cent; nullopt when not finite or beyond 10^13 (no real
/// price is, and llround stays exact below it).
inline std::optional<cents> to_cents(double amount) {
  if (!std::isfinite(amount) || std::fabs(amount) >= 1e13)
    return std::nullopt;
  return static_cast<cents>(std::llround(amount * 100));
}

} // namespace eventide::shop
