// Every turn ends (issue 12): a plan that can never progress ends in PlanFailed exactly once,
// whether the orchestrator reads it while restoring or live on a busy machine.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "core/event_ids.hpp"
#include "tests/e2e/harness.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

// s1 waits for s2 through a placeholder, s2 for s1 through dependsOn.
events::event cyclic_plan(const std::string& conv) {
  events::plan_generated g;
  g.plan_version = 1;
  g.plan_json = R"({"steps":[
    {"id":"s1","tool":"math","args":{"expression":"1+{{steps.s2.result.value}}"}},
    {"id":"s2","tool":"math","args":{"expression":"2"},"dependsOn":["s1"]}]})";
  g.planner_provider = "offline";
  g.planner_model = "rule-based";
  events::event e;
  e.id = core::deterministic_id(conv, g);
  e.source = "eventide/router/test";
  e.time_ms = now_ms();
  e.subject = conv;
  e.causation_id = conv + "/query";
  e.data = std::move(g);
  return e;
}

// Waits until every conversation has its PlanFailed (at most 20 s), then checks there is
// exactly one with the cycle named.
void require_failed_once(pipeline& p, const std::vector<std::string>& convs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (auto& c : convs) {
    while (p.read(c).count("PlanFailed") == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200)); // a second one would show now
  for (auto& c : convs) {
    auto t = p.read(c);
    INFO(c);
    REQUIRE(t.count("PlanFailed") == 1);
    for (auto& e : t.conversation_events)
      if (auto f = std::get_if<events::plan_failed>(&e.data))
        CHECK(f->reason == "invalid plan: cycle: s1 -> s2 -> s1");
    CHECK(t.count("ToolInvocationRequested") == 0);
  }
}

} // namespace

TEST_CASE("e2e: cyclic plans end in PlanFailed once, read while restoring or live under load") {
  temp_dir dir;
  pipeline p{dir.path};
  p.stop();
  // Already in the log when the roles start: folded in restore mode.
  std::vector<std::string> restored, live;
  for (int i = 0; i < 20; ++i) {
    restored.push_back("restored-" + std::to_string(i));
    p.produce(cyclic_plan(restored.back()));
  }
  // A backlog behind them keeps the role in restore mode for a while, so their folds are done
  // (and used to be compacted away as finished) long before it goes live: the order that lost
  // the PlanFailed. (PlanFailed of a conversation without a plan: folded and ignored.)
  events::event filler;
  filler.id = "filler/failed";
  filler.source = "eventide/orchestrator/test";
  filler.time_ms = 1;
  filler.subject = "filler";
  filler.data = events::plan_failed{1, "", "filler", "{}", true};
  for (int i = 0; i < 3000; ++i)
    p.produce(filler);
  p.start();
  require_failed_once(p, restored);

  // Written while every role is live and both cores are busy.
  std::atomic<bool> busy{true};
  std::vector<std::thread> burners;
  for (int i = 0; i < 2; ++i)
    burners.emplace_back([&] {
      while (busy.load(std::memory_order_relaxed)) {
      }
    });
  for (int i = 0; i < 20; ++i) {
    live.push_back("live-" + std::to_string(i));
    p.produce(cyclic_plan(live.back()));
  }
  require_failed_once(p, live);
  busy = false;
  for (auto& t : burners)
    t.join();

  // A restart decides nothing again.
  p.stop();
  p.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  require_failed_once(p, restored);
  require_failed_once(p, live);
}
