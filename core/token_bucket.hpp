// A token bucket (DESIGN §15's per-provider rate limit) as plain arithmetic on a clock the
// caller passes in: `rate` tokens a second, at most `burst` saved up. The blocking limiter
// around it is providers/limits.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace eventide::core {

class token_bucket {
 public:
  /// rate <= 0: unlimited. The bucket starts full.
  token_bucket(double rate_per_s, double burst)
      : rate_(rate_per_s), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)) {}

  bool unlimited() const { return rate_ <= 0; }

  /// Takes a token at `now_ms` if there is one.
  bool take(int64_t now_ms) {
    if (unlimited())
      return true;
    refill(now_ms);
    if (tokens_ < 1)
      return false;
    tokens_ -= 1;
    return true;
  }

  /// How long from `now_ms` until a token is there (0: now).
  int64_t wait_ms(int64_t now_ms) {
    if (unlimited())
      return 0;
    refill(now_ms);
    return tokens_ >= 1 ? 0 : static_cast<int64_t>(std::ceil((1 - tokens_) * 1000 / rate_));
  }

  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  void refill(int64_t now_ms) {
    if (last_ms_ >= 0 && now_ms > last_ms_)
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_ / 1000);
    last_ms_ = std::max(last_ms_, now_ms);
  }

  double rate_;
  double burst_;
  double tokens_;
  int64_t last_ms_ = -1;
};

} // namespace eventide::core
