// Ownership of ids (model/ids.hpp): which conversation an event, causation or invocation id
// belongs to.
#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "model/ids.hpp"

using namespace eventide;

TEST_CASE("ids: an id belongs to the conversation it starts with", "[ids]") {
  CHECK(owned_by("c1/query", "c1"));
  CHECK(owned_by("c1/1/s2/request/3", "c1"));
  CHECK_FALSE(owned_by("c1", "c1"));     // the conversation id itself names no event
  CHECK_FALSE(owned_by("c1/", "c1"));    // nothing after the separator
  CHECK_FALSE(owned_by("c12/query", "c1"));
  CHECK_FALSE(owned_by("c1-query", "c1"));
  CHECK_FALSE(owned_by("x/c1/query", "c1"));
  CHECK_FALSE(owned_by("", "c1"));
}

TEST_CASE("ids: an invocation id names its conversation and its step", "[ids]") {
  CHECK(is_invocation_of("c1/1/s1", "c1", "s1"));
  CHECK(is_invocation_of("c1/12/step_0", "c1", "step_0"));
  CHECK_FALSE(is_invocation_of("c2/1/s1", "c1", "s1"));  // another conversation's
  CHECK_FALSE(is_invocation_of("c1/1/s2", "c1", "s1"));  // another step's
  CHECK_FALSE(is_invocation_of("c1/1/xs1", "c1", "s1"));
  CHECK_FALSE(is_invocation_of("c1/s1", "c1", "s1"));    // no plan part
  CHECK_FALSE(is_invocation_of("c1//s1", "c1", "s1"));
  CHECK_FALSE(is_invocation_of("c1/1/s1", "c1", ""));
  CHECK_FALSE(is_invocation_of("c1/1/s1/", "c1", "s1"));
  // Compensations (DESIGN §15): "compensate" or a retry round "compensate-<n>" where the plan
  // version stands.
  CHECK(is_invocation_of("c1/compensate/s1", "c1", "s1"));
  CHECK(is_invocation_of("c1/compensate-3/s1", "c1", "s1"));
  CHECK(is_invocation_of("c1/t2/compensate/s1", "c1/t2", "s1"));
  CHECK_FALSE(is_invocation_of("c1/compensate-/s1", "c1", "s1"));
  CHECK_FALSE(is_invocation_of("c1/compensate-x/s1", "c1", "s1"));
  CHECK_FALSE(is_invocation_of("c1/compensated/s1", "c1", "s1"));
  CHECK_FALSE(is_invocation_of("c1/t2/compensate/s1", "c1", "s1")); // turn 2's, not turn 1's
}

TEST_CASE("ids: every id the runtime derives belongs to its conversation", "[ids]") {
  // make_invocation_id and is_invocation_of must agree whatever the spelling becomes.
  for (int version : {1, 2, 17})
    for (auto step : {"s1", "s20", "step-1"}) {
      auto inv = make_invocation_id("3f2a-9c", version, step).get();
      CHECK(is_invocation_of(inv, "3f2a-9c", step));
      CHECK_FALSE(is_invocation_of(inv, "3f2a", step));
      auto undo = make_compensation_id("3f2a-9c", step, version - 1).get();
      CHECK(is_invocation_of(undo, "3f2a-9c", step));
      CHECK_FALSE(is_invocation_of(undo, "3f2a", step));
    }
  events::tool_invocation_requested req{make_invocation_id("c", 1, "s2").get(), 3, "s2", "math",
                                        "{}", 0};
  events::tool_invocation_resulted res{req.invocation_id, 3, "s2", "math", true, "{}", "", false, 0};
  std::vector<events::payload> all = {
    events::user_query_received{}, events::plan_generated{}, events::planning_failed{}, req, res,
    events::plan_step_completed{"s2", "ok", 1}, events::plan_completed{},
    events::plan_failed{}, events::synthesize_final_answer_requested{},
    events::final_answer_synthesized{}};
  for (auto& p : all) {
    INFO(events::type_name(p));
    CHECK(owned_by(core::deterministic_id("c", p), "c"));
  }
}

TEST_CASE("turn scopes: turn 1 keeps the pre-turn spelling, later turns add /t<n>", "[ids][turns]") {
  CHECK(turn_scope("c9", 1) == "c9");
  CHECK(turn_scope("c9", 2) == "c9/t2");
  CHECK(turn_scope("c9", 41) == "c9/t41");
  CHECK(split_turn_scope("c9") == std::pair<std::string, int>{"c9", 1});
  CHECK(split_turn_scope("c9/t2") == std::pair<std::string, int>{"c9", 2});
  CHECK(split_turn_scope("c9/t41") == std::pair<std::string, int>{"c9", 41});
  CHECK(make_invocation_id(turn_scope("c9", 3), 2, "s1").get() == "c9/t3/2/s1");
  // Ids of every turn still belong to the conversation (ownership checks stay one prefix).
  CHECK(owned_by("c9/t3/2/s1", "c9"));
  CHECK(is_invocation_of("c9/t3/2/s1", "c9/t3", "s1"));
  CHECK_FALSE(is_invocation_of("c9/t3/2/s1", "c9", "s1"));
  events::user_query_received q;
  q.turn = 3;
  CHECK(core::deterministic_id("c9", q) == "c9/t3/query");
  CHECK(core::deterministic_id("c9", events::user_query_received{}) == "c9/query");
}
