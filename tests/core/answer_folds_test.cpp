#include <catch2/catch.hpp>

#include "core/answer_folds.hpp"
#include "core/event_ids.hpp"
#include "model/ids.hpp"
#include "core/plan_state.hpp"

using namespace eventide;

namespace {

events::event ev(const std::string& conv, events::payload p, int64_t t = 1000) {
  events::event e;
  e.id = core::deterministic_id(conv, p);
  e.source = "test";
  e.time_ms = t;
  e.subject = conv;
  e.data = std::move(p);
  return e;
}

} // namespace

TEST_CASE("aggregation fold asks for synthesis once, after query and terminal event") {
  core::aggregation_fold f;
  f.apply(ev("c", events::plan_generated{1, R"({"steps":[]})", "p", "m", 0}));
  f.apply(ev("c", events::plan_completed{1, R"({"s1":1})"}));
  CHECK_FALSE(f.decide()); // the query is on another topic and not seen yet
  f.apply(ev("c", events::user_query_received{"c", "u", "What?", 1}));
  auto p = f.decide();
  REQUIRE(p);
  auto& r = std::get<events::synthesize_final_answer_requested>(*p);
  CHECK(r.query == "What?");
  CHECK(r.plan_version == 1);
  CHECK(r.plan_json == R"({"steps":[]})");
  CHECK(r.results_json == R"({"s1":1})");
  CHECK(r.failure.empty());
  CHECK(f.done());
  CHECK_FALSE(f.decide());
}

TEST_CASE("aggregation fold does not ask again after a restart that replays its own command") {
  core::aggregation_fold f;
  f.apply(ev("c", events::user_query_received{"c", "u", "Q", 1}));
  f.apply(ev("c", events::plan_failed{1, "s2", "step s2 failed", R"({"s1":{}})", true}));
  f.apply(ev("c", events::synthesize_final_answer_requested{"Q", 1, "null", "{}", "x", "s2"}));
  CHECK_FALSE(f.decide());
}

TEST_CASE("aggregation fold reports planning failures") {
  core::aggregation_fold f;
  f.apply(ev("c", events::user_query_received{"c", "u", "Q", 1}));
  f.apply(ev("c", events::planning_failed{"empty question", {}}));
  auto p = f.decide();
  REQUIRE(p);
  auto& r = std::get<events::synthesize_final_answer_requested>(*p);
  CHECK(r.failure == "planning failed: empty question");
  CHECK(r.plan_json == "null");
  CHECK(r.plan_version == 0);
}

TEST_CASE("synthesis fold answers once and never when an answer is in the log") {
  core::synthesis_fold f;
  CHECK_FALSE(f.pending());
  f.apply(ev("c", events::synthesize_final_answer_requested{"Q", 1, "null", "{}", "", ""}));
  REQUIRE(f.pending());
  CHECK(f.pending()->query == "Q");
  f.mark_answered();
  CHECK_FALSE(f.pending());

  core::synthesis_fold restarted;
  restarted.apply(ev("c", events::final_answer_synthesized{"A", "offline", "template", {}, false}));
  restarted.apply(ev("c", events::synthesize_final_answer_requested{"Q", 1, "null", "{}", "", ""}));
  CHECK_FALSE(restarted.pending());
}

TEST_CASE("ledger rule: successes and permanent errors are final, retryable errors only retry newer attempts") {
  using core::ledger_entry;
  CHECK(core::should_execute(std::nullopt, 1));
  CHECK_FALSE(core::should_execute(ledger_entry{1, true, false}, 1));
  CHECK_FALSE(core::should_execute(ledger_entry{1, true, false}, 2));
  CHECK_FALSE(core::should_execute(ledger_entry{1, false, false}, 2));
  CHECK_FALSE(core::should_execute(ledger_entry{2, false, true}, 2));
  CHECK(core::should_execute(ledger_entry{2, false, true}, 3));
}

TEST_CASE("deterministic ids are stable per decision") {
  CHECK(core::deterministic_id("c", events::plan_generated{2, "{}", "p", "m", 0}) == "c/plan/2");
  events::tool_invocation_requested r{"c/1/s2", 3, "s2", "math", "{}", 0};
  CHECK(core::deterministic_id("c", r) == "c/1/s2/request/3");
  events::tool_invocation_resulted res{"c/1/s2", 3, "s2", "math", true, "{}", "", false, 0};
  CHECK(core::deterministic_id("c", res) == "c/1/s2/result/3");
  CHECK(core::deterministic_id("c", events::final_answer_synthesized{}) == "c/answer");
  CHECK(core::deterministic_id("c", events::synthesize_final_answer_requested{}) == "c/synthesize");
}

TEST_CASE("plan fold keeps requests and results replayed before their plan") {
  const char* plan = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}},
    {"id":"s2","tool":"math","args":{"expression":"{{steps.s1.result.value}} * 2"}}]})";
  // Live run: record what decide() produced.
  core::conversation_state live("c");
  std::vector<events::event> log;
  auto gen = ev("c", events::plan_generated{1, plan, "p", "m", 0});
  live.apply(gen);
  for (auto& p : live.decide(2000))
    log.push_back(ev("c", p, 2000));
  auto res = ev("c", events::tool_invocation_resulted{make_invocation_id("c", 1, "s1").get(), 1,
                                                      "s1", "math", true, R"({"value":2})", "",
                                                      false, 0}, 2100);
  live.apply(res);
  for (auto& p : live.decide(2200))
    log.push_back(ev("c", p, 2200));
  REQUIRE(log.size() == 3); // request s1, request s2, completed s1

  // Replay with the other topic first: requests, then the plan and results.
  core::conversation_state replayed("c");
  for (auto& e : log)
    if (std::holds_alternative<events::tool_invocation_requested>(e.data))
      replayed.apply(e);
  replayed.apply(gen);
  replayed.apply(res);
  for (auto& e : log)
    if (!std::holds_alternative<events::tool_invocation_requested>(e.data))
      replayed.apply(e);
  CHECK(replayed.digest() == live.digest());
  CHECK(replayed.decide(2300).empty()); // nothing is requested twice
}

TEST_CASE("aggregation fold answers a follow-up as the question it stands for, in either order", "[turns]") {
  for (bool question_first : {true, false}) {
    core::aggregation_fold f;
    events::user_query_received q{"c", "u", "and in GBP?", 1};
    q.turn = 2;
    events::plan_generated g{1, R"({"steps":[]})", "offline", "rule-based", 0};
    g.resolved_query = "What does the Aurora X1 cost in GBP?";
    g.turn = 2;
    if (question_first)
      f.apply(ev("c", q));
    f.apply(ev("c", g));
    if (!question_first)
      f.apply(ev("c", q));
    events::plan_completed done{1, R"({"s1":1})"};
    done.turn = 2;
    f.apply(ev("c", done));
    auto p = f.decide();
    REQUIRE(p);
    CHECK(std::get<events::synthesize_final_answer_requested>(*p).query
          == "What does the Aurora X1 cost in GBP?");
  }
}

TEST_CASE("aggregation fold waits for the saga of a failed turn and passes on what was undone", "[saga]") {
  core::aggregation_fold f;
  f.apply(ev("c", events::user_query_received{"c", "u", "Order 2 Tidal Buds to Atlantis", 1}));
  f.apply(ev("c", events::plan_failed{1, "s3", "step s3 failed", R"({"s1":{}})", false}));
  CHECK_FALSE(f.decide()); // effects are being undone
  const std::string undone =
    R"([{"stepId":"s1","tool":"placeOrder","compensation":"cancelOrder","invocationId":"c/compensate/s1","status":"done","result":{}}])";
  f.apply(ev("c", events::plan_compensated{1, 0, undone}));
  auto p = f.decide();
  REQUIRE(p);
  auto& r = std::get<events::synthesize_final_answer_requested>(*p);
  CHECK(r.failure == "step s3 failed");
  CHECK(r.compensations_json == undone);

  core::aggregation_fold left; // a saga that stopped is passed on the same way
  left.apply(ev("c", events::user_query_received{"c", "u", "Q", 1}));
  left.apply(ev("c", events::plan_failed{1, "s3", "step s3 failed", "{}", false}));
  left.apply(ev("c", events::compensation_failed{1, 0, undone, "s1", "shipped"}));
  REQUIRE(left.decide());
}
