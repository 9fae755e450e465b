// The orchestrator's fold (core/plan_state.cpp) on the happy paths: plans, placeholders,
// parallel steps, duplicates, early results, newer versions, replay. Failures, retries and
// timeouts are in plan_state_failures_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/backoff.hpp"
#include "core/event_ids.hpp"
#include "core/plan_state.hpp"
#include "model/ids.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using namespace eventide::core;

using namespace eventide::testing;

TEST_CASE("plan state: nothing happens before a plan exists", "[plan_state]") {
  conversation_state s(conv);
  CHECK(s.status() == plan_status::pending);
  CHECK(s.decide(1000).empty());
  CHECK_FALSE(s.next_wakeup());
  // A result for an unknown plan is ignored rather than crashing.
  s.apply(events::event{"x", "src", 1, conv, "", "", ok_result("s1", "math", "1")});
  CHECK(s.steps().empty());
  CHECK(std::string(to_string(s.status())) == "pending");
}

TEST_CASE("plan state: linear plan with typed placeholder substitution", "[plan_state]") {
  harness h;
  h.plan(R"j({"steps":[
    {"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1"}},
    {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"}},
    {"id":"s3","tool":"generalChat","args":{"message":"It costs {{s2.result.converted}} EUR ({{s1.result.name}})"}}]})j");
  REQUIRE(h.live.status() == plan_status::running);
  REQUIRE(h.live.steps().size() == 3);

  auto out = h.decide(1000);
  REQUIRE(out.size() == 1);
  const auto& r1 = as<events::tool_invocation_requested>(out[0]);
  CHECK(r1.invocation_id == "c1/1/s1");
  CHECK(r1.attempt == 1);
  CHECK(r1.step_id == "s1");
  CHECK(r1.tool == "getProductInformation");
  CHECK(r1.args_json == R"({"query":"Aurora X1"})");
  CHECK(r1.deadline == 31000);
  CHECK(step(h.live, "s1").status == step_status::requested);
  CHECK(h.decide(1001).empty()); // not repeated

  h.feed(ok_result("s1", "getProductInformation", R"({"name":"Aurora X1","price":1299.5})"), 1500);
  out = h.decide(1500);
  REQUIRE(out.size() == 2);
  const auto& r2 = as<events::tool_invocation_requested>(out[0]);
  CHECK(r2.step_id == "s2");
  CHECK(r2.invocation_id == "c1/1/s2");
  CHECK(r2.args_json == R"({"from":"USD","to":"EUR","amount":1299.5})"); // number stays a number
  const auto& c1 = as<events::plan_step_completed>(out[1]);
  CHECK(c1.step_id == "s1");
  CHECK(c1.status == "ok");
  CHECK(c1.attempts == 1);

  h.feed(ok_result("s2", "exchangeRate", R"({"converted":1195.54,"rate":0.92})"), 2000);
  out = h.decide(2000);
  REQUIRE(out.size() == 2);
  CHECK(as<events::tool_invocation_requested>(out[0]).args_json
        == R"j({"message":"It costs 1195.54 EUR (Aurora X1)"})j");
  CHECK(as<events::plan_step_completed>(out[1]).step_id == "s2");

  h.feed(ok_result("s3", "generalChat", R"("fine")"), 2500);
  out = h.decide(2500);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s3");
  const auto& done = as<events::plan_completed>(out[1]);
  CHECK(done.plan_version == 1);
  CHECK(done.results_json
        == R"({"s1":{"name":"Aurora X1","price":1299.5},"s2":{"converted":1195.54,"rate":0.92},"s3":"fine"})");
  CHECK(h.live.status() == plan_status::completed);
  CHECK(h.live.finished());
  CHECK(h.decide(99999).empty());
  CHECK_FALSE(h.live.next_wakeup());
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: independent steps run in parallel", "[plan_state]") {
  harness h;
  h.plan(design_plan);
  auto out = h.decide(1000);
  REQUIRE(out.size() == 2);
  CHECK(as<events::tool_invocation_requested>(out[0]).step_id == "s1");
  CHECK(as<events::tool_invocation_requested>(out[1]).step_id == "s3");
  CHECK(step(h.live, "s2").status == step_status::pending);
  CHECK(h.live.next_wakeup() == 31000);

  // s3 finishing does not unblock s2.
  h.feed(ok_result("s3", "weather", R"({"tempC":12})"), 1100);
  out = h.decide(1100);
  REQUIRE(out.size() == 1);
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s3");

  h.feed(ok_result("s1", "getProductInformation", R"({"price":1299})"), 1200);
  out = h.decide(1200);
  REQUIRE(out.size() == 2);
  const auto& r2 = as<events::tool_invocation_requested>(out[0]);
  CHECK(r2.step_id == "s2");
  CHECK(r2.args_json == R"({"from":"USD","to":"EUR","amount":1299})");
  CHECK(r2.deadline == 31200);

  h.feed(ok_result("s2", "exchangeRate", R"({"amount":1195.08})"), 1300);
  out = h.decide(1300);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_completed>(out[1]).results_json
        == R"({"s1":{"price":1299},"s2":{"amount":1195.08},"s3":{"tempC":12}})");
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: duplicates of every event are no-ops", "[plan_state]") {
  orchestration_policy policy;
  policy.step_timeout_ms = 1000;
  harness h(policy);
  h.plan(design_plan);
  h.decide(0);
  h.feed(error_result("s3", "weather", "HTTP 503", true, 1), 100);
  h.feed(ok_result("s1", "getProductInformation", R"({"price":10})"), 200);
  h.decide(200);
  h.decide(*h.live.next_wakeup()); // retry of s3 (or a deadline), whichever is first
  h.decide(5000);                  // overdue requests
  h.feed(ok_result("s3", "weather", R"({"tempC":1})", 2), 5100);
  h.feed(ok_result("s2", "exchangeRate", R"({"amount":9})", 1), 5200);
  h.decide(5200);
  REQUIRE(h.live.status() == plan_status::completed);

  // Every event applied twice in a row gives the same state as applying it once...
  conversation_state doubled(conv, policy);
  for (const auto& e : h.log) {
    doubled.apply(e);
    auto once = doubled.digest();
    doubled.apply(e);
    CHECK(doubled.digest() == once);
  }
  CHECK(doubled.digest() == h.live.digest());
  // ...and the whole log again on top of the final state changes nothing.
  auto final_digest = h.live.digest();
  for (const auto& e : h.log)
    h.live.apply(e);
  CHECK(h.live.digest() == final_digest);
  CHECK(h.live.decide(999999).empty());
}

TEST_CASE("plan state: results may arrive before their requests", "[plan_state]") {
  SECTION("an ok result before the request") {
    conversation_state s(conv);
    events::plan_generated g;
    g.plan_json = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})";
    s.apply(events::event{"e1", "src", 0, conv, "", "", g});
    s.apply(events::event{"e2", "src", 10, conv, "", "", ok_result("s1", "math", "2", 2)});
    CHECK(step(s, "s1").status == step_status::succeeded);
    CHECK(step(s, "s1").attempt == 2);

    events::tool_invocation_requested req;
    req.invocation_id = inv("s1");
    req.attempt = 2;
    req.step_id = "s1";
    req.tool = "math";
    req.args_json = R"({"expression":"1+1"})";
    req.deadline = 30005;
    s.apply(events::event{"e3", "src", 5, conv, "", "", req});
    CHECK(step(s, "s1").status == step_status::succeeded); // the request does not reopen it
    auto out = s.decide(20);
    REQUIRE(out.size() == 2);
    CHECK(as<events::plan_step_completed>(out[0]).attempts == 2);
    CHECK(as<events::plan_completed>(out[1]).results_json == R"({"s1":2})");
  }
  SECTION("a retryable error before the request") {
    conversation_state s(conv);
    events::plan_generated g;
    g.plan_json = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})";
    s.apply(events::event{"e1", "src", 0, conv, "", "", g});
    s.apply(events::event{"e2", "src", 10, conv, "", "", error_result("s1", "math", "busy", true, 1)});
    events::tool_invocation_requested req;
    req.invocation_id = inv("s1");
    req.attempt = 1;
    req.step_id = "s1";
    req.tool = "math";
    req.args_json = R"({"expression":"1+1"})";
    req.deadline = 30000;
    s.apply(events::event{"e3", "src", 0, conv, "", "", req});
    CHECK(step(s, "s1").status == step_status::pending); // still waiting to retry
    CHECK(step(s, "s1").errors == 1);
    auto out = s.decide(step(s, "s1").not_before);
    REQUIRE(out.size() == 1);
    CHECK(as<events::tool_invocation_requested>(out[0]).attempt == 2);
  }
  SECTION("a whole run replayed with every result moved before its request") {
    harness h;
    h.plan(design_plan);
    h.decide(0);
    h.feed(ok_result("s1", "getProductInformation", R"({"price":5})"), 10);
    h.feed(ok_result("s3", "weather", R"({"tempC":1})"), 11);
    h.decide(20);
    h.feed(ok_result("s2", "exchangeRate", R"({"amount":4.6})"), 30);
    h.decide(30);
    REQUIRE(h.live.status() == plan_status::completed);

    // Requests travel on another topic: put each one after the result of its step.
    std::vector<events::event> requests, reordered;
    for (const auto& e : h.log) {
      if (std::holds_alternative<events::tool_invocation_requested>(e.data)) {
        requests.push_back(e);
        continue;
      }
      reordered.push_back(e);
      if (const auto* r = std::get_if<events::tool_invocation_resulted>(&e.data))
        for (const auto& q : requests)
          if (std::get<events::tool_invocation_requested>(q.data).step_id == r->step_id)
            reordered.push_back(q);
    }
    REQUIRE(reordered.size() == h.log.size());
    CHECK(h.replay_digest(reordered) == h.live.digest());
  }
}

TEST_CASE("plan state: a newer plan version replaces the running one", "[plan_state]") {
  harness h;
  h.plan(design_plan);
  h.decide(0);
  h.plan(R"({"steps":[{"id":"m","tool":"math","args":{"expression":"6*7"}}]})", 2, 100);
  CHECK(h.live.plan_version() == 2);
  REQUIRE(h.live.steps().size() == 1);
  auto out = h.decide(100);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/2/m");
  auto r = ok_result("m", "math", R"({"value":42})");
  r.invocation_id = inv("m", 2);
  h.feed(r, 200);
  out = h.decide(200);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_completed>(out[1]).plan_version == 2);
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: full replay of a busy run reaches the same digest", "[plan_state]") {
  orchestration_policy policy;
  policy.max_attempts = 4;
  policy.step_timeout_ms = 2000;
  policy.retry_backoff = {300, 5000, 2.0};
  harness h(policy);
  h.plan(R"({"steps":[
    {"id":"p","tool":"getProductInformation","args":{"query":"Aurora"}},
    {"id":"w","tool":"weather","args":{"city":"Berlin"}},
    {"id":"fx","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{p.result.items[0].price}}"}},
    {"id":"calc","tool":"math","args":{"expression":"{{fx.result.amount}} * 2"}},
    {"id":"final","tool":"orchestrationSynthesis","args":{"query":"q","results":{"fx":"{{fx.result}}","w":"{{w.result.summary}}","calc":"{{calc.result.value}}"}}}]})");
  h.decide(0);
  h.feed(error_result("w", "weather", "HTTP 429", true, 1), 50);
  h.feed(ok_result("p", "getProductInformation", R"({"items":[{"price":1000}]})"), 60);
  h.decide(60);
  int64_t now = *h.live.next_wakeup();
  h.decide(now); // w retried
  h.feed(error_result("fx", "exchangeRate", "timeout", true, 1), now + 10);
  now = *h.live.next_wakeup();
  h.decide(now);
  h.decide(now + 2000); // overdue re-requests
  h.feed(ok_result("fx", "exchangeRate", R"({"amount":920.5})", 3), now + 2100);
  h.feed(ok_result("w", "weather", R"({"summary":"sunny"})", 2), now + 2110);
  h.decide(now + 2200);
  h.feed(ok_result("calc", "math", R"({"value":1841})"), now + 2300);
  auto out = h.decide(now + 2300);
  REQUIRE_FALSE(out.empty());
  const auto& final_req = as<events::tool_invocation_requested>(out[0]);
  CHECK(final_req.step_id == "final");
  CHECK(final_req.args_json
        == R"({"query":"q","results":{"fx":{"amount":920.5},"w":"sunny","calc":1841}})");
  h.feed(ok_result("final", "orchestrationSynthesis", R"({"answer":"done"})"), now + 2400);
  out = h.decide(now + 2400);
  REQUIRE(h.live.status() == plan_status::completed);

  CHECK(h.replay_digest(h.log) == h.live.digest());
  // Replaying every prefix and deciding nothing in restore mode never crashes and, at the end,
  // agrees; a restored state that then goes live has nothing left to emit.
  conversation_state restored(conv, policy);
  for (const auto& e : h.log)
    restored.apply(e);
  CHECK(restored.decide(now + 5000).empty());
  CHECK(restored.digest().find("status completed") != std::string::npos);
}

TEST_CASE("plan state: a later turn's fold uses its own ids and ignores other turns", "[plan_state][turns]") {
  conversation_state t2(conv, {}, {}, 2);
  CHECK(t2.turn() == 2);
  CHECK(t2.scope() == "c1/t2");
  auto wrap = [](events::payload p) {
    auto id = core::deterministic_id(conv, p);
    return events::event{id, "eventide/test/n1", 0, conv, "", "", std::move(p)};
  };
  events::plan_generated turn1;
  turn1.plan_version = 1;
  turn1.plan_json = design_plan;
  t2.apply(wrap(turn1)); // turn 1's plan: not this fold's
  CHECK(t2.status() == plan_status::pending);
  CHECK(t2.decide(1000).empty());

  events::plan_generated g = turn1;
  g.turn = 2;
  t2.apply(wrap(g));
  REQUIRE(t2.status() == plan_status::running);
  auto out = t2.decide(1000);
  REQUIRE(out.size() == 2); // s1 and s3 have no dependencies
  const auto& r1 = as<events::tool_invocation_requested>(out[0]);
  CHECK(r1.invocation_id == "c1/t2/1/s1");
  CHECK(r1.turn == 2);
  CHECK(core::deterministic_id(conv, out[0]) == "c1/t2/1/s1/request/1");

  for (auto& p : out) // back from the log: nothing left unlogged for the snapshot to hold
    t2.apply(wrap(p));
  // A snapshot keeps the turn; restoring it as another turn is refused.
  auto snap = t2.snapshot([](const events::event&) { return std::string(); });
  auto decode = [](std::string_view) -> outcome<events::event> { return fail("unused"); };
  auto same = conversation_state::restore(conv, {}, snap, decode, {}, 2);
  INFO((same ? std::string() : same.error()));
  REQUIRE(same);
  CHECK(same->digest() == t2.digest());
  CHECK_FALSE(conversation_state::restore(conv, {}, snap, decode, {}, 3));
}
