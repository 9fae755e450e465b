// The crash-loop guard's files and gate (actors/crash_guard.hpp), without actors. Its decisions
// (core/crash_guard.hpp) are tested in tests/core/crash_guard_test.cpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "actors/crash_guard.hpp"
#include "core/crash_guard.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;
using namespace eventide::core;

namespace {

const partition_ref p0{"user-commands", 0};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

storage::record rec(int32_t partition, int64_t offset) {
  storage::record r;
  r.topic = "user-commands";
  r.partition = partition_id{partition};
  r.offset = log_offset{offset};
  return r;
}

} // namespace

TEST_CASE("crash guard files: a killed run's note becomes strikes once, a clean stop leaves "
          "none", "[crash-guard]") {
  testing::temp_dir dir("eventide-crash-guard");
  auto path = dir.path + "/crash-guard";
  std::vector<std::string> groups{"router", "aggregator"};
  std::string left_behind;
  {
    auto g = crash_guard::open(path, 3, groups);
    REQUIRE(g);
    CHECK_FALSE((*g)->quarantine());
    auto router = (*g)->take("router");
    REQUIRE(router);
    CHECK_FALSE((*g)->take("router"));
    CHECK_FALSE((*g)->take("nobody"));
    auto aggregator = (*g)->take("aggregator");
    crash_note n;
    add_in_flight(n, p0, {5, 6, 7});
    REQUIRE(router->note(n));
    REQUIRE(aggregator->note(n));
    REQUIRE(aggregator->clear_note()); // idle again before the "kill"
    // What a kill -9 leaves: the files as they are now.
    left_behind = slurp(path + "/router.note");
    router->close();
    aggregator->close();
    CHECK((*g)->wait_released(std::chrono::milliseconds(100)));
  }
  {
    // A clean stop cleared the note: no strikes.
    auto g = crash_guard::open(path, 3, groups);
    REQUIRE(g);
    CHECK_FALSE((*g)->quarantine());
    (*g)->drop_untaken();
  }
  spit(path + "/router.note", left_behind);
  for (int start = 0; start < 2; ++start) {
    if (start == 1) // killed after storing the strikes, before clearing the note: once only
      spit(path + "/router.note", left_behind);
    auto g = crash_guard::open(path, 3, groups);
    REQUIRE(g);
    CHECK((*g)->quarantine());
    auto router = (*g)->take("router");
    auto aggregator = (*g)->take("aggregator");
    CHECK(router->strikes_of(rec(0, 6)) == 1);
    CHECK(router->strikes_of(rec(0, 8)) == 0);
    CHECK_FALSE(aggregator->has_strikes());
    CHECK(router->judge(rec(0, 6)) == crash_verdict::alone);
    router->close(); // stops before handling them: the strikes stay
    aggregator->close();
  }
  {
    auto g = crash_guard::open(path, 3, groups);
    REQUIRE(g);
    auto router = (*g)->take("router");
    (*g)->drop_untaken(); // the aggregator does not run this time
    CHECK((*g)->quarantine());
    // Reading starts at 6 (5 was committed); the suspects 6 and 7 pass: quarantine over.
    router->assigned({"user-commands", 0}, 6, [] { return std::optional<int64_t>{100}; });
    router->assignment_seen();
    CHECK(router->suspects_pending() == 2);
    CHECK(router->strike_count() == 2);
    router->passed({"user-commands", 0}, 6);
    CHECK((*g)->quarantine());
    router->passed({"user-commands", 0}, 7);
    CHECK_FALSE((*g)->quarantine());
    CHECK_FALSE(router->has_strikes());
  }
  auto g = crash_guard::open(path, 3, groups);
  REQUIRE(g);
  CHECK_FALSE((*g)->quarantine()); // forgiven for good
}

TEST_CASE("crash guard gate: a suspect goes out alone, in turn, batches wait for it",
          "[crash-guard]") {
  testing::temp_dir dir("eventide-crash-gate");
  auto g = crash_guard::open(dir.path, 3, {"a"});
  REQUIRE(g);
  auto& gate = **g;
  CHECK(gate.try_shared(2));
  CHECK_FALSE(gate.try_alone("a")); // two records still out; "a" now waits in line
  CHECK_FALSE(gate.try_shared(1));  // nothing new goes out while a suspect waits
  CHECK_FALSE(gate.try_alone("b")); // in line behind "a"
  gate.done_shared(2);
  CHECK_FALSE(gate.try_alone("b")); // "a" first
  CHECK(gate.try_alone("a"));
  CHECK_FALSE(gate.try_alone("b"));
  CHECK_FALSE(gate.try_shared(1));
  gate.done_alone("a");
  CHECK(gate.try_alone("b"));
  gate.done_alone("b");
  CHECK(gate.try_shared(1));
  CHECK_FALSE(gate.try_alone("c"));
  gate.withdraw("c"); // its suspect went elsewhere (a revocation)
  CHECK(gate.try_shared(1));
  gate.drop_untaken();
}
