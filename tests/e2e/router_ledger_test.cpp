// The router answers a query delivered again (a crash or a rebalance before its commit) with
// the record it produced the first time, byte for byte: no second plan, not even an equal one
// with another time. (Found by the crash-loop tests: a router killed after planning planned
// again on restart, and the log held two different PlanGenerated records under one id.)
#include <catch2/catch.hpp>

#include <thread>

#include "tests/e2e/harness.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

conversation_trace wait_for(pipeline& p, const std::string& conv, const char* type, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto t = p.read(conv);
  while (t.count(type) < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    t = p.read(conv);
  }
  return t;
}

} // namespace

TEST_CASE("e2e: a query delivered again after its turn was answered is not planned again") {
  temp_dir dir;
  pipeline p{dir.path};
  events::event q;
  q.id = "again/query";
  q.source = "eventide/test";
  q.time_ms = now_ms();
  q.subject = "again";
  q.data = events::user_query_received{"again", "tester", "What is 6 * 7?", q.time_ms};
  p.produce(q);
  auto first = wait_for(p, "again", "FinalAnswerSynthesized", 1);
  REQUIRE(first.count("FinalAnswerSynthesized") == 1);

  // The same record again, as the log delivers it after a crash before the commit; and once
  // more after a restart, when the router rebuilds its memory of the conversation from the
  // log: the turn is answered, so neither delivery plans or publishes anything.
  p.produce(q);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p.stop();
  p.start();
  p.produce(q);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto third = p.read("again"); // throws on an id repeated with other bytes
  CHECK(third.count("PlanGenerated") == 1);
  CHECK(third.count("ToolInvocationRequested") == 1);
  CHECK(third.count("PlanCompleted") == 1);
  CHECK(third.count("FinalAnswerSynthesized") == 1);
}
