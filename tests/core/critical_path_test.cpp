#include <catch2/catch.hpp>

#include "core/critical_path.hpp"

using eventide::core::critical_path;
using eventide::core::timed_step;
using path = std::vector<std::string>;

TEST_CASE("critical path follows the slowest dependency chain") {
  // s1 (5) -> s2 (1) -> s4 (1); s3 (10) -> s4: the chain through s3 is longer.
  std::vector<timed_step> steps = {
    {"s1", {}, 5}, {"s2", {"s1"}, 1}, {"s3", {}, 10}, {"s4", {"s2", "s3"}, 1}};
  CHECK(critical_path(steps) == path{"s3", "s4"});
  steps[0].duration_ms = 20;
  CHECK(critical_path(steps) == path{"s1", "s2", "s4"});
}

TEST_CASE("critical path of independent steps is the slowest one, empty plan has none") {
  CHECK(critical_path({{"a", {}, 3}, {"b", {}, 7}, {"c", {}, 2}}) == path{"b"});
  CHECK(critical_path({{"a", {}, 7}, {"b", {"a"}, 0}}) == path{"a", "b"});
  CHECK(critical_path({}).empty());
  CHECK(critical_path({{"a", {}, 0}}) == path{"a"});
}
