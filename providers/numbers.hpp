// Number formatting shared by the offline and HTTP tools, so both modes print alike.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/json.hpp"

namespace eventide::providers {

/// Half-up on the decimal value: 0.865 is stored as 0.86499999..., so nudge past the
/// representation error before rounding (far below a cent for any realistic amount).
inline double round_to(double v, int decimals) {
  double scale = std::pow(10.0, decimals);
  return std::round(v * scale * (1 + 1e-12)) / scale;
}

inline double round_significant(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return std::strtod(buf, nullptr);
}

/// Adds `key`: an integer when `v` is whole (1299, not 1299.0), else a double.
inline void set_number(json::document& d, const char* key, double v) {
  auto& a = d.GetAllocator();
  if (v == std::floor(v) && std::fabs(v) < 9e15)
    d.AddMember(json::value(key, a), json::value(static_cast<int64_t>(v)), a);
  else
    d.AddMember(json::value(key, a), json::value(v), a);
}

/// Money as the answers print it: whole amounts as they are (1299), others with two decimals
/// (1195.10).
inline std::string format_money(double v) {
  if (v == std::floor(v))
    return json::format_number(v);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

inline void set_string(json::document& d, const char* key, const std::string& v) {
  auto& a = d.GetAllocator();
  d.AddMember(json::value(key, a), json::str(v, a), a);
}

} // namespace eventide::providers
