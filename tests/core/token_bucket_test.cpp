#include <catch2/catch.hpp>

#include "core/token_bucket.hpp"

using eventide::core::token_bucket;

TEST_CASE("token bucket: a burst, then one token per 1/rate", "[limits]") {
  token_bucket b(2, 2); // 2 a second, 2 saved up
  CHECK(b.take(0));
  CHECK(b.take(0));
  CHECK_FALSE(b.take(0));
  CHECK(b.wait_ms(0) == 500);
  CHECK(b.wait_ms(250) == 250);
  CHECK_FALSE(b.take(499));
  CHECK(b.take(500));
  CHECK_FALSE(b.take(500));
  CHECK(b.take(10000)); // a long pause saves up the burst, no more
  CHECK(b.take(10000));
  CHECK_FALSE(b.take(10000));
  token_bucket none(0, 1);
  for (int i = 0; i < 1000; ++i)
    CHECK(none.take(0));
  CHECK(none.wait_ms(0) == 0);
}
