// Conversations with many turns (issue 15): turns planned in order from the router's memory,
// follow-ups resolved into the question they stand for, each turn answered once.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "tests/e2e/harness.hpp"
#include <map>

#include "model/ids.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

events::event turn_query(const std::string& conv, int turn, const std::string& text) {
  events::user_query_received q{conv, "tester", text, now_ms()};
  q.turn = turn;
  events::event e;
  e.id = turn_scope(conv, turn) + "/query";
  e.source = "eventide/test";
  e.time_ms = now_ms();
  e.subject = conv;
  e.data = q;
  return e;
}

conversation_trace wait_for_answers(pipeline& p, const std::string& conv, size_t n) {
  auto t = p.read(conv);
  for (int i = 0; i < 400 && t.count("FinalAnswerSynthesized") < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    t = p.read(conv);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // room for duplicates
  return p.read(conv);
}

} // namespace

TEST_CASE("e2e: a 3-turn conversation with follow-ups, the later turns written early", "[turns]") {
  temp_dir dir;
  pipeline p{dir.path};
  // All three written at once: turn 2 waits for turn 1's answer, turn 3 for turn 2's.
  p.produce(turn_query("chat", 1, "How much do the Tidal Buds cost?"));
  p.produce(turn_query("chat", 2, "and in EUR?"));
  p.produce(turn_query("chat", 3, "for 3 of them?"));
  auto t = wait_for_answers(p, "chat", 3);
  REQUIRE(t.count("FinalAnswerSynthesized") == 3);
  CHECK(t.count("PlanGenerated") == 3);
  CHECK(t.divergent_repeats().empty());

  std::vector<std::string> order; // PlanGenerated / FinalAnswerSynthesized with their turns
  std::map<int, events::plan_generated> plans;
  std::map<int, std::string> answers;
  for (auto& e : t.conversation_events) {
    int turn = events::turn_of(e.data);
    if (auto g = std::get_if<events::plan_generated>(&e.data)) {
      order.push_back("plan " + std::to_string(turn));
      plans[turn] = *g;
    } else if (auto a = std::get_if<events::final_answer_synthesized>(&e.data)) {
      order.push_back("answer " + std::to_string(turn));
      answers[turn] = a->answer;
    }
  }
  CHECK(order == std::vector<std::string>{"plan 1", "answer 1", "plan 2", "answer 2", "plan 3",
                                          "answer 3"});
  CHECK(plans[1].resolved_query.empty());
  CHECK(plans[2].resolved_query == "How much do the Tidal Buds cost in EUR?");
  CHECK(plans[3].resolved_query == "How much do the Tidal Buds cost in EUR for 3 of them?");
  INFO(answers[1] + "\n---\n" + answers[2] + "\n---\n" + answers[3]);
  // config/exchange-rates.json: 1 EUR = 0.8650 GBP, so 129 GBP = 129 / 0.8650 = 149.13 EUR.
  CHECK(answers[1].rfind("The Tidal Buds costs 129 GBP.\n", 0) == 0);
  CHECK(answers[2].rfind("The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).\n", 0) == 0);
  CHECK(answers[3].rfind("The answer is 447.39 EUR (149.13 * 3).\n", 0) == 0);
}
