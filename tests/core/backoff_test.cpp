#include <catch2/catch.hpp>

#include <set>

#include "core/backoff.hpp"

using namespace eventide::core;

TEST_CASE("backoff: full jitter stays within the exponential cap", "[backoff]") {
  backoff_policy p{100, 1000, 2.0};
  for (int attempt = 1; attempt <= 8; ++attempt) {
    int64_t cap = std::min<int64_t>(1000, 100LL << (attempt - 1));
    for (int i = 0; i < 50; ++i) {
      auto d = backoff_delay_ms(p, attempt, "conv/1/s" + std::to_string(i));
      CHECK(d >= 0);
      CHECK(d <= cap);
    }
  }
}

TEST_CASE("backoff: deterministic per seed and attempt, spread across seeds", "[backoff]") {
  backoff_policy p{1000, 100000, 2.0};
  CHECK(backoff_delay_ms(p, 3, "c1/1/s2") == backoff_delay_ms(p, 3, "c1/1/s2"));
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i)
    seen.insert(backoff_delay_ms(p, 3, "c1/1/s" + std::to_string(i)));
  CHECK(seen.size() > 15); // jitter really varies
  std::set<int64_t> by_attempt;
  for (int a = 1; a <= 6; ++a)
    by_attempt.insert(backoff_delay_ms(p, a, "same-seed"));
  CHECK(by_attempt.size() > 3);
}

TEST_CASE("backoff: degenerate policies", "[backoff]") {
  CHECK(backoff_delay_ms({0, 1000, 2.0}, 3, "x") == 0);
  CHECK(backoff_delay_ms({100, 0, 2.0}, 3, "x") == 0);
  // attempt < 1 behaves like attempt 1; huge attempts do not overflow.
  CHECK(backoff_delay_ms({100, 1000, 2.0}, 0, "x") == backoff_delay_ms({100, 1000, 2.0}, 1, "x"));
  auto big = backoff_delay_ms({100, 5000, 2.0}, 10000, "x");
  CHECK(big >= 0);
  CHECK(big <= 5000);
}

TEST_CASE("backoff: Retry-After parsing", "[backoff]") {
  CHECK(parse_retry_after_ms("120", 0) == 120000);
  CHECK(parse_retry_after_ms(" 0 ", 0) == 0);
  // 2015-10-21T07:28:00Z = 1445412480 s.
  const int64_t at = 1445412480LL * 1000;
  CHECK(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", at - 5000) == 5000);
  CHECK(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", at + 5000) == 0); // in the past
  CHECK(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000LL - 1) == 1);
  CHECK(parse_retry_after_ms("soon", 0) == -1);
  CHECK(parse_retry_after_ms("", 0) == -1);
  CHECK(parse_retry_after_ms("-5", 0) == -1);
  CHECK(parse_retry_after_ms("1.5", 0) == -1);
  CHECK(parse_retry_after_ms("Wed, 21 Foo 2015 07:28:00 GMT", 0) == -1);
  CHECK(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 UTC", 0) == -1);
  CHECK(parse_retry_after_ms("Xyz, 21 Oct 2015 07:28:00 GMT", 0) == -1);
  CHECK(parse_retry_after_ms("99999999999999999999", 0) == 86400000);
}

TEST_CASE("circuit breaker: opens, half-opens, closes", "[backoff]") {
  circuit_breaker cb(3, 1000);
  CHECK(cb.current(0) == circuit_breaker::state::closed);
  CHECK(cb.allow(0));
  cb.on_failure(10);
  cb.on_failure(20);
  CHECK(cb.current(20) == circuit_breaker::state::closed);
  CHECK(cb.consecutive_failures() == 2);
  cb.on_success(30); // resets the count
  CHECK(cb.consecutive_failures() == 0);
  cb.on_failure(40);
  cb.on_failure(50);
  cb.on_failure(60);
  CHECK(cb.current(60) == circuit_breaker::state::open);
  CHECK_FALSE(cb.allow(500));
  CHECK(cb.current(1059) == circuit_breaker::state::open);
  CHECK(cb.current(1060) == circuit_breaker::state::half_open);
  CHECK(cb.allow(1060));       // the one trial
  CHECK_FALSE(cb.allow(1061)); // no second trial while it is in flight
  cb.on_success(1100);
  CHECK(cb.current(1100) == circuit_breaker::state::closed);
  CHECK(cb.allow(1101));
}

TEST_CASE("circuit breaker: a failed trial re-opens for a full period", "[backoff]") {
  circuit_breaker cb(1, 1000);
  cb.on_failure(0);
  CHECK(cb.current(0) == circuit_breaker::state::open);
  CHECK(cb.allow(1000));
  cb.on_failure(1200);
  CHECK(cb.current(1200) == circuit_breaker::state::open);
  CHECK_FALSE(cb.allow(2199));
  CHECK(cb.allow(2200));
  CHECK(std::string(to_string(cb.current(2200))) == "half-open");
  CHECK(std::string(to_string(circuit_breaker::state::closed)) == "closed");
  CHECK(std::string(to_string(circuit_breaker::state::open)) == "open");
}
