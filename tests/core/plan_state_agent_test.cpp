// The agent loop in the orchestrator's fold (DESIGN §14): a plan that ends with "then decide"
// or a step that may be re-planned asks the router for a revision with what was observed; a
// revision adds steps (new invocation ids, earlier results in placeholders) or finishes;
// revisions are bounded; every state survives replay and snapshot.
#include "schemas/codec.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

const char* const compare_then_decide = R"j({"steps":[
  {"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},
  {"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}}],
  "next":"replan"})j";

const char* const aurora = R"({"name":"Aurora X1","price":1299,"currency":"USD"})";
const char* const nimbus = R"({"name":"Nimbus Pro","price":899,"currency":"USD"})";

events::plan_revised revised(int version, std::string plan_json) {
  events::plan_revised r;
  r.plan_version = version;
  r.plan_json = std::move(plan_json);
  r.rationale = "test";
  r.planner_provider = "offline";
  r.planner_model = "rule-based";
  return r;
}

events::tool_invocation_resulted ok_result_v(const std::string& step, const std::string& tool,
                                             const std::string& result, int version) {
  auto r = ok_result(step, tool, result);
  r.invocation_id = inv(step, version);
  return r;
}


// Runs the comparison plan to its revision request.
void run_to_revision(harness& h) {
  h.plan(compare_then_decide);
  REQUIRE(h.decide(1000).size() == 2);
  h.feed(ok_result("s1", "getProductInformation", aurora), 1100);
  h.feed(ok_result("s2", "getProductInformation", nimbus), 1200);
}

} // namespace

TEST_CASE("agent loop: a plan that says then decide asks for a revision, and runs the steps it adds", "[plan_state][agent]") {
  harness h;
  run_to_revision(h);
  auto out = h.decide(1200);
  REQUIRE(out.size() == 3); // s1 and s2 completed, then the request; no PlanCompleted
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s1");
  CHECK(as<events::plan_step_completed>(out[1]).step_id == "s2");
  const auto& ask = as<events::plan_revision_requested>(out[2]);
  CHECK(ask.plan_version == 1);
  CHECK(ask.reason == "the plan asks what comes next after its last step");
  CHECK(ask.failed_step.empty());
  CHECK(ask.observations_json == std::string(R"({"s1":)") + aurora + R"(,"s2":)" + nimbus + "}");
  CHECK(h.live.awaiting_revision());
  CHECK(h.decide(5000).empty()); // waits for the router
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());

  // The router chose the cheaper one: its price, from v1's result, converted in step s3 of v2.
  h.feed(revised(2, R"j({"steps":[{"id":"s3","tool":"exchangeRate",
    "args":{"from":"{{steps.s2.result.currency}}","to":"JPY","amount":"{{steps.s2.result.price}}"}}]})j"),
         5100);
  CHECK(h.live.plan_version() == 2);
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
  out = h.decide(5100);
  REQUIRE(out.size() == 1);
  const auto& req = as<events::tool_invocation_requested>(out[0]);
  CHECK(req.invocation_id == "c1/2/s3"); // a step's identity includes its plan version
  CHECK(req.args_json == R"({"from":"USD","to":"JPY","amount":899})");
  // A late duplicate of a v1 result still matches its own step only.
  h.feed(ok_result("s2", "getProductInformation", nimbus), 5200);
  CHECK(h.decide(5200).empty());
  h.feed(ok_result_v("s3", "exchangeRate", R"({"converted":134850,"rate":150})", 2), 5300);
  out = h.decide(5300);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s3");
  const auto& done = as<events::plan_completed>(out[1]);
  CHECK(done.plan_version == 2);
  CHECK(done.results_json == std::string(R"({"s1":)") + aurora + R"(,"s2":)" + nimbus
                               + R"(,"s3":{"converted":134850,"rate":150}})");
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("agent loop: a revision without steps finishes the turn with what was observed", "[plan_state][agent]") {
  harness h;
  run_to_revision(h);
  REQUIRE(h.decide(1200).size() == 3);
  h.feed(revised(2, "null"), 1300);
  auto out = h.decide(1300);
  REQUIRE(out.size() == 1);
  const auto& done = as<events::plan_completed>(out[0]);
  CHECK(done.plan_version == 2);
  CHECK(done.results_json == std::string(R"({"s1":)") + aurora + R"(,"s2":)" + nimbus + "}");
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("agent loop: a step that may be re-planned hands its failure and its dependents to a revision", "[plan_state][agent]") {
  harness h;
  h.plan(R"j({"steps":[
    {"id":"s1","tool":"getProductInformation","args":{"query":"Nimbus Max price"},"onError":"replan"},
    {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"}},
    {"id":"s3","tool":"weather","args":{"city":"Berlin"}}]})j");
  REQUIRE(h.decide(1000).size() == 2); // s1 and s3
  h.feed(error_result("s1", "getProductInformation", "unknown product 'Nimbus Max'", false, 1), 1100);
  auto out = h.decide(1100);
  REQUIRE(out.size() == 1); // s3 still runs: the failure does not end the plan
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s1");
  CHECK(step(h.live, "s2").status == step_status::failed);
  CHECK(step(h.live, "s2").error == "not run: step s1 failed");
  h.feed(ok_result("s3", "weather", R"({"temperatureC":7})"), 1200);
  out = h.decide(1200);
  REQUIRE(out.size() == 2);
  const auto& ask = as<events::plan_revision_requested>(out[1]);
  CHECK(ask.reason == "step s1 (getProductInformation) failed after 1 attempt: unknown product 'Nimbus Max'");
  CHECK(ask.failed_step == "s1");
  CHECK(ask.observations_json == R"({"s3":{"temperatureC":7}})");
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());

  SECTION("the revision replaces the failed lookup: the plan completes") {
    h.feed(revised(2, R"j({"steps":[
      {"id":"s4","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}}]})j"), 1300);
    REQUIRE(as<events::tool_invocation_requested>(h.decide(1300).at(0)).invocation_id == "c1/2/s4");
    h.feed(ok_result_v("s4", "getProductInformation", nimbus, 2), 1400);
    out = h.decide(1400);
    REQUIRE(out.size() == 2);
    CHECK(as<events::plan_completed>(out[1]).results_json
          == std::string(R"({"s3":{"temperatureC":7},"s4":)") + nimbus + "}");
  }
  SECTION("the router finishes after the failure: the failure stands") {
    h.feed(revised(2, "null"), 1300);
    out = h.decide(1300);
    REQUIRE(out.size() == 1);
    const auto& failed = as<events::plan_failed>(out[0]);
    CHECK(failed.plan_version == 2);
    CHECK(failed.failed_step == "s1");
    CHECK(failed.reason == "step s1 (getProductInformation) failed after 1 attempt: unknown product 'Nimbus Max'");
    CHECK(failed.partial_results_json == R"({"s3":{"temperatureC":7}})");
  }
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("agent loop: revisions are bounded by max-plan-revisions", "[plan_state][agent]") {
  orchestration_policy p;
  p.max_plan_revisions = 1;
  harness h(p);
  run_to_revision(h);
  REQUIRE(h.decide(1200).size() == 3);
  h.feed(revised(2, R"j({"steps":[{"id":"s3","tool":"math","args":{"expression":"1299 - 899"}}],
    "next":"replan"})j"), 1300);
  REQUIRE(h.decide(1300).size() == 1);
  h.feed(ok_result_v("s3", "math", R"({"value":400})", 2), 1400);
  auto out = h.decide(1400);
  REQUIRE(out.size() == 2);
  const auto& failed = as<events::plan_failed>(out[1]);
  CHECK(failed.reason == "the plan needs revision 2, past max-plan-revisions (1)");
  CHECK(failed.failed_step.empty());
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("agent loop: a revision that reuses a step id or names an unknown one fails the plan", "[plan_state][agent]") {
  harness h;
  run_to_revision(h);
  REQUIRE(h.decide(1200).size() == 3);
  SECTION("reused id") {
    h.feed(revised(2, R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"}}]})"), 1300);
    auto out = h.decide(1300);
    REQUIRE(out.size() == 1);
    CHECK(as<events::plan_failed>(out[0]).reason
          == "invalid plan revision 2: step s1: id already used by an earlier plan version");
  }
  SECTION("unknown dependency") {
    h.feed(revised(2, R"({"steps":[{"id":"s3","tool":"math","args":{"expression":"{{steps.s9.result.value}}"}}]})"), 1300);
    auto out = h.decide(1300);
    REQUIRE(out.size() == 1);
    CHECK(as<events::plan_failed>(out[0]).reason.rfind("invalid plan revision 2: step s3: ", 0) == 0);
  }
  SECTION("a revision of another version is ignored") {
    h.feed(revised(3, "null"), 1300);
    CHECK(h.decide(1300).empty());
    CHECK(h.live.awaiting_revision());
  }
}

TEST_CASE("agent loop: no revision within the turn timeout fails the turn", "[plan_state][agent]") {
  orchestration_policy p;
  p.turn_timeout_ms = 10000;
  harness h(p);
  run_to_revision(h);
  REQUIRE(h.decide(1200).size() == 3);
  REQUIRE(h.live.next_wakeup());
  CHECK(*h.live.next_wakeup() == 1200 + 10000);
  CHECK(h.decide(11199).empty());
  auto out = h.decide(11200);
  REQUIRE(out.size() == 1);
  CHECK(as<events::plan_failed>(out[0]).reason
        == "turn timed out: no plan revision for 10 s (turn-timeout-ms) after plan version 1");
}

TEST_CASE("agent loop: revision records that cannot belong to the turn are refused", "[plan_state][agent]") {
  harness h;
  auto event_of = [&](events::payload p) { return h.wrap(std::move(p), 100); };
  events::plan_revision_requested ask;
  ask.plan_version = 1;
  ask.reason = "x";
  ask.observations_json = "{}";
  // No plan yet: neither a request nor a revision belongs here.
  CHECK(h.live.refuses(event_of(ask)) == std::optional<std::string>("PlanRevisionRequested of turn 1, which has no plan"));
  CHECK(h.live.refuses(event_of(revised(2, "null"))) == std::optional<std::string>("PlanRevised v2 of turn 1, which has no plan"));
  run_to_revision(h);
  CHECK_FALSE(h.live.refuses(event_of(ask)));
  CHECK(h.live.refuses(event_of(revised(3, "null"))) == std::optional<std::string>("PlanRevised v3 of turn 1 skips v2"));
  CHECK_FALSE(h.live.refuses(event_of(revised(2, "null"))));
  REQUIRE(h.decide(1200).size() == 3);
  h.feed(revised(2, "null"), 1300);
  REQUIRE(h.decide(1300).size() == 1); // PlanCompleted v2
  CHECK_FALSE(h.live.refuses(event_of(revised(2, "null")))); // a duplicate changes nothing
  CHECK(h.live.refuses(event_of(revised(3, "null"))) == std::optional<std::string>("PlanRevised v3 of turn 1 after the turn ended at v2"));
}
