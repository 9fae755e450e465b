// The agent loop end to end on the embedded log (issue 15, DESIGN §14): a plan that says
// "then decide" is revised by the router from what its steps observed, the revision's steps
// run under their own invocation ids, and the answer states the decision. A restart in the
// middle replays the decisions from the log and decides nothing again.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <map>

#include "storage/dead_letter.hpp"
#include "tests/e2e/harness.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

std::vector<std::string> decisions_of(const conversation_trace& t) {
  std::vector<std::string> out;
  for (auto& e : t.conversation_events)
    if (auto r = std::get_if<events::plan_revised>(&e.data))
      out.push_back("v" + std::to_string(r->plan_version) + " " + r->rationale);
  return out;
}

std::vector<std::string> invocations_of(const conversation_trace& t) {
  std::vector<std::string> out;
  for (auto& e : t.tool_requests)
    if (auto r = std::get_if<events::tool_invocation_requested>(&e.data))
      out.push_back(r->invocation_id.substr(t.id.size() + 1));
  return out;
}

} // namespace

TEST_CASE("e2e: which is cheaper, and what does that one cost: look both up, then convert the winner", "[agent]") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("pick", "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?");
  INFO(t.answer()->answer);
  CHECK(t.count("PlanGenerated") == 1);
  CHECK(t.count("PlanRevisionRequested") == 1);
  CHECK(t.count("PlanRevised") == 1);
  CHECK(t.count("FinalAnswerSynthesized") == 1);
  CHECK(decisions_of(t)
        == std::vector<std::string>{"v2 the Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro"});
  CHECK(invocations_of(t) == std::vector<std::string>{"1/s1", "1/s2", "2/s3"});
  // config/exchange-rates.json: 1 USD = 149.448 JPY.
  CHECK(t.answer()->answer.rfind(
          "The Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro. The Nimbus Pro "
          "costs 1849 USD. The Aurora X1 costs 194132.98 JPY (1299 USD at 149.448).\n", 0) == 0);
  CHECK(t.divergent_repeats().empty());
}

TEST_CASE("e2e: prices in two currencies are converted first, then the router decides again", "[agent]") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("two", "Which is cheaper, the Kestrel S5 or the Tidal Buds, and what does that one cost in JPY?");
  INFO(t.answer()->answer);
  CHECK(t.count("PlanRevisionRequested") == 2);
  CHECK(decisions_of(t)
        == std::vector<std::string>{
          "v2 the prices are in different currencies (EUR, GBP): converting them to JPY to compare",
          "v3 the Tidal Buds is cheaper: 24226.65 JPY (129 GBP) against 105430.05 JPY (649 EUR) for the Kestrel S5"});
  CHECK(invocations_of(t) == std::vector<std::string>{"1/s1", "1/s2", "2/s3", "2/s4"});
  CHECK(t.answer()->answer.rfind("The Tidal Buds is cheaper: 24226.65 JPY (129 GBP) against "
                                 "105430.05 JPY (649 EUR) for the Kestrel S5. ", 0) == 0);
  // The turn ended with the plan's last version.
  for (auto& e : t.conversation_events)
    if (auto c = std::get_if<events::plan_completed>(&e.data))
      CHECK(c->plan_version == 3);
}

TEST_CASE("e2e: the revision limit fails the turn with its reason", "[agent]") {
  temp_dir dir;
  node_options opts;
  opts.policy.max_plan_revisions = 1; // the two-currency question needs 2
  pipeline p{dir.path, opts};
  auto t = p.ask("limit", "Which is cheaper, the Kestrel S5 or the Tidal Buds, and what does that one cost in JPY?");
  INFO(t.answer()->answer);
  CHECK(t.count("PlanRevised") == 1);
  CHECK(t.count("PlanFailed") == 1);
  CHECK(t.answer()->failed);
  CHECK(t.answer()->answer.rfind(
          "I could not complete this request: the plan needs revision 2, past max-plan-revisions (1)\n", 0) == 0);
}

TEST_CASE("e2e: a revision request written while the router is down is answered once it is back", "[agent]") {
  temp_dir dir;
  const std::string question =
    "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?";
  auto wait_for = [](pipeline& p, const char* type) {
    for (int i = 0; i < 400 && p.read("down").count(type) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return p.read("down");
  };
  node_options router_only;
  router_only.roles = {"router"};
  {
    pipeline p{dir.path, router_only};
    events::event q;
    q.id = "down/query";
    q.source = "eventide/test";
    q.time_ms = now_ms();
    q.subject = "down";
    q.data = events::user_query_received{"down", "tester", question, now_ms()};
    p.produce(q);
    REQUIRE(wait_for(p, "PlanGenerated").count("PlanGenerated") == 1);
  }
  node_options no_router;
  no_router.roles = {"orchestrator", "aggregator", "synthesis", "worker-getProductInformation",
                     "worker-exchangeRate"};
  {
    pipeline p{dir.path, no_router};
    auto t = wait_for(p, "PlanRevisionRequested");
    REQUIRE(t.count("PlanRevisionRequested") == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(p.read("down").count("PlanRevised") == 0); // nobody decides while the router is down
  }
  pipeline p{dir.path}; // every role: the router restores, finds the request unanswered
  auto t = wait_for(p, "FinalAnswerSynthesized");
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // room for duplicates
  t = p.read("down");
  CHECK(t.count("PlanGenerated") == 1);
  CHECK(t.count("PlanRevisionRequested") == 1);
  CHECK(t.count("PlanRevised") == 1);
  CHECK(t.count("ToolInvocationRequested") == 3);
  CHECK(t.count("FinalAnswerSynthesized") == 1);
  CHECK(t.divergent_repeats().empty());
  REQUIRE(t.answer());
  CHECK(t.answer()->answer.rfind("The Aurora X1 is cheaper: ", 0) == 0);
}

TEST_CASE("e2e: a revision request or a revision for a turn without a plan is dead-lettered with its reason", "[agent]") {
  temp_dir dir;
  pipeline p{dir.path};
  auto event = [](const std::string& conv, std::string id, events::payload data) {
    events::event e;
    e.id = conv + "/" + std::move(id);
    e.source = "eventide/test";
    e.time_ms = now_ms();
    e.subject = conv;
    e.data = std::move(data);
    return e;
  };
  events::plan_revision_requested ask;
  ask.plan_version = 1;
  ask.reason = "then decide";
  ask.observations_json = "{}";
  p.produce(event("ghost-ask", "1/revise", ask));
  events::plan_revised revised;
  revised.plan_version = 2;
  revised.plan_json = "null";
  revised.rationale = "made up";
  revised.planner_provider = "offline";
  p.produce(event("ghost-rev", "plan/2", revised));
  // (group, key) -> reason, from the dead-letter queue.
  std::map<std::pair<std::string, std::string>, std::string> letters;
  auto parts = p.log().partition_count(p.names().dead_letters);
  REQUIRE(parts);
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (int32_t i = 0; i < *parts; ++i)
    start.emplace_back(storage::topic_partition{p.names().dead_letters, i}, log_offset{0});
  auto c = p.log().assign(start);
  REQUIRE(c);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (letters.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*c)->poll(64, std::chrono::milliseconds(50));
    REQUIRE(batch);
    for (auto& rec : *batch)
      if (auto dl = storage::decode_dead_letter(rec.value))
        letters[{dl->consumer_group, dl->key}] = dl->reason;
  }
  CHECK(letters[{"orchestrator", "ghost-ask"}] == "PlanRevisionRequested of turn 1, which has no plan");
  CHECK(letters[{"router", "ghost-ask"}] == "PlanRevisionRequested of turn 1, which has no plan");
  CHECK(letters[{"orchestrator", "ghost-rev"}] == "PlanRevised v2 of turn 1, which has no plan");
  // Nothing was decided for either, and the pipeline still answers.
  CHECK(p.read("ghost-ask").count("PlanRevised") == 0);
  auto t = p.ask("after", "What is 6 times 7?");
  REQUIRE(t.answer());
  CHECK(t.answer()->answer.rfind("The answer is 42", 0) == 0);
}
