// Budgets per turn in the orchestrator's fold (DESIGN §15): tool invocations, LLM tokens, their
// cost and wall time. Exceeding one fails the turn with the reason, before anything more runs,
// and the saga undoes what the turn did. Usage comes from the log (the planner's and LLM tools'
// "tokens"), so a replay counts the same.
#include "schemas/codec.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

orchestration_policy budget_policy() {
  orchestration_policy p;
  p.approval_threshold_usd = 1e12;
  p.usd_value = [](double amount, const std::string&) { return std::optional<double>(amount); };
  return p;
}

void plan_with_tokens(harness& h, const std::string& plan, int prompt, int completion,
                      int64_t t = 0) {
  events::plan_generated g;
  g.plan_json = plan;
  g.planner_provider = "openai";
  g.planner_model = "gpt-x";
  g.prompt_tokens = prompt;
  g.completion_tokens = completion;
  h.feed(g, t);
}

const char* const order = R"j({"steps":[
  {"id":"s1","tool":"placeOrder","args":{"product":"tidal-buds","quantity":1}},
  {"id":"s2","tool":"chargePayment","args":{"orderId":"{{steps.s1.result.orderId}}","amount":129,"currency":"GBP"}},
  {"id":"s3","tool":"shipOrder","args":{"orderId":"{{steps.s1.result.orderId}}","city":"Berlin"},"dependsOn":["s2"]}]})j";

} // namespace

TEST_CASE("budget: one tool invocation too many fails the turn and undoes it", "[plan_state][budget]") {
  auto p = budget_policy();
  p.max_tool_invocations = 2;
  harness h(p);
  plan_with_tokens(h, order, -1, -1);
  REQUIRE(h.decide(0).size() == 1);
  h.feed(ok_result("s1", "placeOrder", R"({"orderId":"o-1"})"), 10);
  REQUIRE(h.decide(10).size() == 2);
  h.feed(ok_result("s2", "chargePayment", R"({"paymentId":"p-1"})"), 20);
  auto out = h.decide(20);
  REQUIRE(out.size() == 3); // s2 completed, PlanFailed, the first compensation; no shipment
  const auto& failed = as<events::plan_failed>(out[1]);
  CHECK(failed.reason == "budget exceeded: one more tool invocation after 2, max-turn-invocations is 2");
  CHECK_FALSE(failed.compensation_done);
  CHECK(as<events::tool_invocation_requested>(out[2]).invocation_id == "c1/compensate/s2");
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("budget: LLM tokens and their cost, counted from the log", "[plan_state][budget]") {
  auto p = budget_policy();
  p.max_llm_tokens = 500;
  harness tokens(p);
  plan_with_tokens(tokens, R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})", 600, 100);
  auto out = tokens.decide(0);
  REQUIRE(out.size() == 1);
  CHECK(as<events::plan_failed>(out[0]).reason
        == "budget exceeded: 700 LLM tokens used, max-turn-tokens is 500");

  auto c = budget_policy();
  c.max_cost_usd = 0.25;
  c.usd_per_1k_tokens = {{"gpt-x", 0.01}};
  harness cost(c);
  plan_with_tokens(cost, R"({"steps":[{"id":"s1","tool":"generalChat","args":{"message":"hi"}},
    {"id":"s2","tool":"math","args":{"expression":"1+1"}, "dependsOn":["s1"]}]})", 1000, 200);
  REQUIRE(cost.decide(0).size() == 1); // 1,200 tokens: 0.012 USD
  cost.feed(ok_result("s1", "generalChat",
                      R"({"answer":"hello","model":"gpt-x","tokens":{"prompt":30000,"completion":20000}})"),
            10);
  out = cost.decide(10);
  REQUIRE(out.size() == 1); // before anything else is decided
  CHECK(as<events::plan_failed>(out[0]).reason
        == "budget exceeded: 0.51 USD of LLM tokens, max-turn-cost-usd is 0.25");
  CHECK(cost.replay_digest(cost.log) == cost.live.digest());
}

TEST_CASE("budget: wall time from the plan's record, scheduled as a wake-up", "[plan_state][budget]") {
  auto p = budget_policy();
  p.max_wall_ms = 1000;
  harness h(p);
  plan_with_tokens(h, R"({"steps":[{"id":"s1","tool":"weather","args":{"city":"Berlin"}}]})", -1, -1, 5000);
  REQUIRE(h.decide(5000).size() == 1);
  CHECK(h.live.next_wakeup() == 6001);
  CHECK(h.decide(6000).empty());
  auto out = h.decide(6001);
  REQUIRE(out.size() == 1);
  CHECK(as<events::plan_failed>(out[0]).reason == "budget exceeded: the turn ran 1001 ms, max-turn-ms is 1000");
  auto text = h.live.snapshot([](const events::event& e) { return events::encode(e).value(); });
  auto back = conversation_state::restore(conv, p, text,
                                          [](std::string_view b) { return events::decode(b); });
  REQUIRE(back.ok());
  CHECK(back->digest() == h.live.digest());
}
