// The router role (actors/router.cpp) on CAF's deterministic `testing` scheduler, with the
// offline rule-based planner and a real ledger in a fresh directory: a fake producer records
// what it emits. No log, no threads.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/router.hpp"
#include "actors/store_cover.hpp"
#include "providers/planner.hpp"
#include "storage/kv_store.hpp"
#include "tests/actors/role_fixture.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

const char* source = "eventide/router/test";

providers::planner_context catalog() {
  return providers::load_planner_context(std::string(EVENTIDE_SOURCE_DIR) + "/products");
}

// The offline planner as spawn_router wires it, counting its runs: a plan is made where this
// counter goes up, and nowhere else.
planner_fn counting_planner(std::shared_ptr<int> runs) {
  return [runs, plan = offline_planner(catalog())](
           const std::string& query, const std::vector<const core::turn_memory*>& history,
           std::vector<std::string>& errors) {
    ++*runs;
    return plan(query, history, errors);
  };
}

struct router_fixture : role_fixture {
  std::shared_ptr<storage::kv_store> ledger = open_store("router-ledger");
  role_actor router_actor;

  router_fixture() : role_fixture("eventide-router") {}
  ~router_fixture() { stop(); }

  // Kills the router, as kill -9 would: only its ledger remains.
  void stop() {
    if (!router_actor)
      return;
    caf::anon_send_exit(router_actor, caf::exit_reason::kill);
    run();
    router_actor = nullptr;
  }

  // The router as the node spawns it with the offline planner.
  void spawn_offline() {
    router_actor = spawn_router(*sys, producer, catalog(), source, ledger);
    go_live();
  }

  // As the bridge does once the (here empty) partitions are replayed.
  void go_live() {
    caf::anon_send(router_actor, live_atom::value, std::vector<int32_t>{0});
    run();
  }

  void spawn_counting(std::shared_ptr<int> runs) {
    router_config cfg;
    cfg.producer = producer;
    cfg.planner = counting_planner(std::move(runs));
    cfg.follow_up = offline_follow_ups(catalog());
    cfg.source = source;
    cfg.store = ledger;
    router_actor = sys->spawn(router, std::move(cfg));
    go_live();
  }

  void deliver(const events::event& e) { deliver_to(router_actor, e); }
};

events::event query(const std::string& conv, const std::string& text) {
  return input_event(conv, events::user_query_received{conv, "tester", text, 1000});
}

} // namespace

TEST_CASE_METHOD(router_fixture, "router: a known question becomes its offline plan") {
  spawn_offline();
  auto q = query("c1", "What is 2 plus 100?");
  deliver(q);
  CHECK(*replies == std::vector<std::string>{"ok"});
  REQUIRE(rec->types() == std::vector<std::string>{"PlanGenerated"});
  auto& e = rec->events[0];
  CHECK(e.id == "c1/plan/1");
  CHECK(e.subject == "c1");
  CHECK(e.source == source);
  CHECK(e.causation_id == "c1/query");
  auto& plan = std::get<events::plan_generated>(e.data);
  CHECK(plan.plan_version == 1);
  CHECK(plan.plan_json
        == R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2 + 100"}}],"finalAnswerRequired":true})");
  CHECK(plan.planner_provider == "offline");
  CHECK(plan.planner_model == "rule-based");
  CHECK(plan.prompt_tokens == -1);
  CHECK(plan.completion_tokens == -1);
  // Recorded in the ledger before it was produced, byte for byte.
  auto recorded_bytes = ledger->get("p/c1/query");
  REQUIRE(recorded_bytes);
  REQUIRE(*recorded_bytes);
  CHECK(**recorded_bytes == events::encode(e).value());
}

TEST_CASE_METHOD(router_fixture, "router: a blank question ends in PlanningFailed with the planner's reason") {
  spawn_offline();
  deliver(query("blank", "   "));
  CHECK(*replies == std::vector<std::string>{"ok"});
  REQUIRE(rec->types() == std::vector<std::string>{"PlanningFailed"});
  auto& e = rec->events[0];
  CHECK(e.id == "blank/planning-failed");
  CHECK(e.causation_id == "blank/query");
  auto& failed = std::get<events::planning_failed>(e.data);
  CHECK(failed.reason == "empty question");
  CHECK(failed.provider_errors == std::vector<std::string>{"offline: empty question"});
}

TEST_CASE_METHOD(router_fixture, "router: a question too big for a plan ends in PlanningFailed") {
  spawn_offline();
  std::string many = "What is the weather in Berlin";
  for (int i = 0; i < 25; ++i)
    many += " and Town" + std::string(1, static_cast<char>('A' + i));
  deliver(query("big", many));
  CHECK(*replies == std::vector<std::string>{"ok"});
  REQUIRE(rec->types() == std::vector<std::string>{"PlanningFailed"});
  CHECK(rec->events[0].id == "big/planning-failed");
  auto& failed = std::get<events::planning_failed>(rec->events[0].data);
  const std::string reason = "cannot plan this question offline: plan: too many steps (26, at most 20)";
  CHECK(failed.reason == reason);
  CHECK(failed.provider_errors == std::vector<std::string>{"offline: " + reason});
}

TEST_CASE_METHOD(router_fixture, "router: other records are acknowledged and change nothing") {
  spawn_offline();
  deliver(input_event("c2", events::synthesize_final_answer_requested{"Q", 0, "null", "{}", "x", ""}));
  deliver(input_event("c2", events::plan_generated{1, R"({"steps":[]})", "test", "test", 0}));
  CHECK(*replies == std::vector<std::string>{"ok", "ok"});
  CHECK(rec->events.empty());
  CHECK_FALSE(ledger->get("p/c2/query").value());
}

TEST_CASE_METHOD(router_fixture, "router: a query delivered again is answered from its ledger, planned once") {
  auto runs = std::make_shared<int>(0);
  spawn_counting(runs);
  auto q = query("again", "What is 6 * 7?");
  deliver(q);
  REQUIRE(rec->types() == std::vector<std::string>{"PlanGenerated"});
  CHECK(*runs == 1);
  auto first = events::encode(rec->events[0]).value();

  // Delivered again (a crash or a rebalance before the commit): the same record, same bytes.
  deliver(q);
  REQUIRE(rec->types() == std::vector<std::string>{"PlanGenerated", "PlanGenerated"});
  CHECK(events::encode(rec->events[1]).value() == first);
  CHECK(*runs == 1);

  // Once more after a restart: a new router, its memory gone, on the same ledger.
  stop();
  spawn_counting(runs);
  deliver(q);
  REQUIRE(rec->events.size() == 3);
  CHECK(events::encode(rec->events[2]).value() == first);
  CHECK(*runs == 1);
  CHECK(*replies == std::vector<std::string>{"ok", "ok", "ok"});
}

TEST_CASE_METHOD(router_fixture, "router: a query is acknowledged only once its plan is durable") {
  auto held = std::make_shared<held_publishes>();
  producer = sys->spawn(holding_producer, rec, held);
  spawn_offline();
  deliver(query("slow", "What is 2 plus 100?"));
  CHECK(rec->types() == std::vector<std::string>{"PlanGenerated"});
  CHECK(held->size() == 1);
  CHECK(replies->empty()); // the bridge must not commit the query yet
  caf::anon_send(producer, serve_atom::value);
  run();
  CHECK(*replies == std::vector<std::string>{"ok"});
}

namespace {

events::event turn_query(const std::string& conv, int turn, const std::string& text) {
  events::user_query_received q{conv, "tester", text, 1000};
  q.turn = turn;
  return input_event(conv, q);
}

events::event turn_answer(const std::string& conv, int turn) {
  events::final_answer_synthesized a;
  a.answer = "done";
  a.turn = turn;
  return input_event(conv, a);
}

} // namespace

TEST_CASE_METHOD(router_fixture, "router: turn 2 waits for turn 1's answer, then is planned as the follow-up it is") {
  spawn_offline();
  deliver(turn_query("t", 1, "How much do the Tidal Buds cost?"));
  deliver(turn_query("t", 2, "and in EUR?"));
  REQUIRE(rec->types() == std::vector<std::string>{"PlanGenerated"}); // turn 2 waits
  deliver(rec->events[0]); // turn 1's plan back from the log
  deliver(turn_answer("t", 1));
  REQUIRE(rec->types() == std::vector<std::string>{"PlanGenerated", "PlanGenerated"});
  auto& e = rec->events[1];
  CHECK(e.id == "t/t2/plan/1");
  CHECK(e.causation_id == "t/t2/query");
  auto& g = std::get<events::plan_generated>(e.data);
  CHECK(g.turn == 2);
  CHECK(g.resolved_query == "How much do the Tidal Buds cost in EUR?");
  CHECK(*replies == std::vector<std::string>{"ok", "ok", "ok", "ok"});
}

TEST_CASE_METHOD(router_fixture, "router: a skipped turn or a turn asked again with other words is refused with its reason") {
  spawn_offline();
  deliver(turn_query("s", 2, "and in EUR?"));
  deliver(turn_query("s", 1, "What is 2 plus 2?"));
  deliver(turn_query("s", 1, "What is 3 plus 3?"));
  CHECK(*replies
        == std::vector<std::string>{
          "turn 2 of conversation s skips turn 1 (turns are asked in order)", "ok",
          "turn 1 of conversation s was already asked with other words ('What is 2 plus 2?')"});
  CHECK(rec->types() == std::vector<std::string>{"PlanGenerated"});
}

TEST_CASE_METHOD(router_fixture, "router: the memory is stored before a record is acknowledged, and a restart starts from it") {
  spawn_offline();
  deliver(turn_query("m", 1, "How much do the Tidal Buds cost?"));
  deliver(rec->events[0]);
  deliver(turn_query("m", 2, "and in EUR?"));
  auto snap = ledger->get("m/m").value();
  REQUIRE(snap);
  auto stored = core::conversation_memory::restore("m", 8, *snap);
  REQUIRE(stored);
  CHECK(stored->last_asked() == 2);
  CHECK(stored->find(1)->status == core::turn_status::planned);
  // kill -9, then a restart whose replay starts at the committed offset: only turn 1's answer
  // is after it. Turn 2 is planned as the follow-up of a question the new router never read.
  stop();
  spawn_offline();
  deliver(turn_answer("m", 1));
  REQUIRE(rec->types() == std::vector<std::string>{"PlanGenerated", "PlanGenerated"});
  auto& g = std::get<events::plan_generated>(rec->events[1].data);
  CHECK(g.turn == 2);
  CHECK(g.resolved_query == "How much do the Tidal Buds cost in EUR?");
}

TEST_CASE_METHOD(router_fixture, "router: restore mode defers the memory to go-live and keeps the coverage marker off until then") {
  spawn_offline();
  auto marker = [&] { return ledger->get(cover_key(0)).value().has_value(); };
  caf::anon_send(router_actor, restore_atom::value);
  run();
  deliver(turn_query("r", 1, "How much do the Tidal Buds cost?"));
  CHECK(rec->events.empty()); // nothing is planned while restoring
  CHECK_FALSE(ledger->get("m/r").value());
  caf::anon_send(router_actor, live_atom::value, std::vector<int32_t>{0});
  run();
  CHECK(ledger->get("m/r").value());
  CHECK(marker());
  CHECK(rec->types() == std::vector<std::string>{"PlanGenerated"}); // due at go-live
  // A rebalance: the marker goes at once, and a handed-over partition leaves the store.
  caf::anon_send(router_actor, restore_atom::value);
  run();
  CHECK_FALSE(marker());
  caf::anon_send(router_actor, revoke_atom::value, std::vector<int32_t>{0});
  run();
  CHECK_FALSE(ledger->get("m/r").value());
}
