// Retry timing and failure isolation, pure and deterministic so a replay reproduces decisions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eventide::core {

struct backoff_policy {
  int64_t base_ms = 200;
  int64_t max_ms = 10000;
  double multiplier = 2.0;
};

/// Exponential backoff with full jitter: uniform in [0, min(max, base * multiplier^(attempt-1))],
/// drawn from a hash of `seed` (e.g. the invocation id) so the same inputs give the same delay.
/// attempt >= 1.
int64_t backoff_delay_ms(const backoff_policy& p, int attempt, std::string_view seed);

/// Parses an HTTP Retry-After value (delta-seconds or an IMF-fixdate) relative to now_ms;
/// returns the delay in ms, or -1 when unparseable.
int64_t parse_retry_after_ms(std::string_view header, int64_t now_ms);

/// Closed -> open after `failure_threshold` consecutive failures; open -> half-open after
/// `open_ms`; half-open lets one trial call through: success closes, failure re-opens.
class circuit_breaker {
 public:
  enum class state { closed, open, half_open };

  circuit_breaker(int failure_threshold = 5, int64_t open_ms = 30000);

  /// Whether a call may go out now (in half-open, only one trial at a time).
  bool allow(int64_t now_ms);
  void on_success(int64_t now_ms);
  void on_failure(int64_t now_ms);
  state current(int64_t now_ms) const;
  int consecutive_failures() const { return failures_; }

 private:
  int threshold_;
  int64_t open_ms_;
  state state_ = state::closed;
  int failures_ = 0;
  int64_t opened_at_ = 0;
  bool trial_in_flight_ = false;
};

const char* to_string(circuit_breaker::state s);

} // namespace eventide::core
