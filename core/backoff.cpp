#include "core/backoff.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <string>

namespace eventide::core {
namespace {

// FNV-1a 64: stable across platforms and runs (std::hash is not), so replays agree.
uint64_t fnv1a64(std::string_view data, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty()
         && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

int to_int(std::string_view digits) {
  int v = 0;
  for (char c : digits)
    v = v * 10 + (c - '0');
  return v;
}

// IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Returns seconds since the
// epoch, or -1.
int64_t parse_imf_fixdate(std::string_view s) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Fixed layout: "Www, DD Mmm YYYY HH:MM:SS GMT" is exactly 29 characters.
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' '
      || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return -1;
  if (std::none_of(std::begin(days), std::end(days), [&](const char* d) { return s.substr(0, 3) == d; }))
    return -1;
  int month = -1;
  for (int i = 0; i < 12; ++i)
    if (s.substr(8, 3) == months[i])
      month = i;
  auto day = s.substr(5, 2), year = s.substr(12, 4), hh = s.substr(17, 2), mm = s.substr(20, 2),
       ss = s.substr(23, 2);
  if (month < 0 || !all_digits(day) || !all_digits(year) || !all_digits(hh) || !all_digits(mm)
      || !all_digits(ss))
    return -1;
  std::tm tm{};
  tm.tm_year = to_int(year) - 1900;
  tm.tm_mon = month;
  tm.tm_mday = to_int(day);
  tm.tm_hour = to_int(hh);
  tm.tm_min = to_int(mm);
  tm.tm_sec = to_int(ss);
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  return static_cast<int64_t>(timegm(&tm));
}

} // namespace

int64_t backoff_delay_ms(const backoff_policy& p, int attempt, std::string_view seed) {
  if (attempt < 1)
    attempt = 1;
  // Computed in double and clamped so large attempts cannot overflow.
  double ceiling = static_cast<double>(std::max<int64_t>(p.base_ms, 0))
                   * std::pow(std::max(p.multiplier, 1.0), attempt - 1);
  int64_t cap = static_cast<int64_t>(std::min(ceiling, static_cast<double>(std::max<int64_t>(p.max_ms, 0))));
  if (cap <= 0)
    return 0;
  uint64_t h = fnv1a64(std::to_string(attempt), fnv1a64("#", fnv1a64(seed)));
  return static_cast<int64_t>(h % static_cast<uint64_t>(cap + 1));
}

int64_t parse_retry_after_ms(std::string_view header, int64_t now_ms) {
  auto s = trim(header);
  if (all_digits(s)) {
    // Anything beyond a day is as good as "a long time"; clamping avoids overflow.
    if (s.size() > 9)
      return 86400000;
    return std::min<int64_t>(std::stoll(std::string(s)), 86400) * 1000;
  }
  int64_t at = parse_imf_fixdate(s);
  if (at < 0)
    return -1;
  return std::max<int64_t>(0, at * 1000 - now_ms);
}

circuit_breaker::circuit_breaker(int failure_threshold, int64_t open_ms)
    : threshold_(std::max(failure_threshold, 1)), open_ms_(std::max<int64_t>(open_ms, 0)) {}

bool circuit_breaker::allow(int64_t now_ms) {
  switch (current(now_ms)) {
    case state::closed:
      return true;
    case state::open:
      return false;
    case state::half_open:
      state_ = state::half_open;
      if (trial_in_flight_)
        return false;
      trial_in_flight_ = true;
      return true;
  }
  return false;
}

void circuit_breaker::on_success(int64_t) {
  state_ = state::closed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void circuit_breaker::on_failure(int64_t now_ms) {
  ++failures_;
  auto s = current(now_ms);
  // A failed trial re-opens at once; in closed, only the threshold opens. A failure reported
  // while already open (a call that left before opening) does not extend the open period.
  if (s == state::half_open || (s == state::closed && failures_ >= threshold_)) {
    state_ = state::open;
    opened_at_ = now_ms;
    trial_in_flight_ = false;
  }
}

circuit_breaker::state circuit_breaker::current(int64_t now_ms) const {
  if (state_ == state::open && now_ms - opened_at_ >= open_ms_)
    return state::half_open;
  return state_;
}

const char* to_string(circuit_breaker::state s) {
  switch (s) {
    case circuit_breaker::state::closed: return "closed";
    case circuit_breaker::state::open: return "open";
    case circuit_breaker::state::half_open: return "half-open";
  }
  return "unknown";
}

} // namespace eventide::core
