// The router's conversation memory: turn order, bounds, snapshot and replay.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "core/conversation_memory.hpp"
#include "core/event_ids.hpp"

using namespace eventide;
using core::conversation_memory;

namespace {

events::event mem_event(events::payload p) {
  events::event e;
  e.id = core::deterministic_id("c", p);
  e.source = "test";
  e.subject = "c";
  e.data = std::move(p);
  return e;
}

events::event asked(int turn, const std::string& q) {
  events::user_query_received d{"c", "u", q, 0};
  d.turn = turn;
  return mem_event(d);
}

events::event planned(int turn, const std::string& resolved = "") {
  events::plan_generated d{1, R"({"steps":[]})", "offline", "rule-based", 0};
  d.resolved_query = resolved;
  d.turn = turn;
  return mem_event(d);
}

events::event completed(int turn, const std::string& results) {
  events::plan_completed d;
  d.plan_version = 1;
  d.results_json = results;
  d.turn = turn;
  return mem_event(d);
}

events::event answered(int turn, const std::string& answer) {
  events::final_answer_synthesized d;
  d.answer = answer;
  d.turn = turn;
  return mem_event(d);
}

std::vector<events::event> three_turns() {
  return {asked(1, "What does the Aurora X1 cost?"), planned(1), completed(1, R"({"s1":{"price":1299}})"),
          answered(1, "The Aurora X1 costs 1299 USD."),
          asked(2, "and in GBP?"), planned(2, "What does the Aurora X1 cost in GBP?"),
          completed(2, R"({"s2":{"converted":1020.5}})"), answered(2, "1020.50 GBP"),
          asked(3, "for 3 of them?")};
}

} // namespace

TEST_CASE("memory: turn n + 1 is planned only after turn n is answered", "[memory]") {
  conversation_memory m("c");
  CHECK(m.next_to_plan() == nullptr);
  REQUIRE(m.apply(asked(1, "first?")));
  REQUIRE(m.apply(asked(2, "second?"))); // written while turn 1 runs: it waits
  REQUIRE(m.next_to_plan() != nullptr);
  CHECK(m.next_to_plan()->turn == 1);
  CHECK(m.next_to_plan()->query_id == "c/query");
  REQUIRE(m.apply(planned(1)));
  CHECK(m.next_to_plan() == nullptr); // turn 1 runs, turn 2 waits
  REQUIRE(m.apply(answered(1, "one")));
  REQUIRE(m.next_to_plan() != nullptr);
  CHECK(m.next_to_plan()->turn == 2);
  CHECK(m.next_to_plan()->query_id == "c/t2/query");
  CHECK(m.next_to_plan()->question == "second?");
  REQUIRE(m.history_before(2).size() == 1);
  CHECK(m.history_before(2)[0]->answer == "one");
}

TEST_CASE("memory: a skipped turn or a turn asked again with other words is refused", "[memory]") {
  conversation_memory m("c");
  CHECK(m.apply(asked(2, "too early")).error()
        == "turn 2 of conversation c skips turn 1 (turns are asked in order)");
  REQUIRE(m.apply(asked(1, "hello")));
  CHECK(m.apply(asked(1, "hello"))); // a redelivery
  CHECK(m.apply(asked(1, "hullo")).error()
        == "turn 1 of conversation c was already asked with other words ('hello')");
  CHECK(m.apply(asked(3, "x")).error()
        == "turn 3 of conversation c skips turn 2 (turns are asked in order)");
  CHECK(m.last_asked() == 1);
  CHECK(m.find(1)->question == "hello");
}

TEST_CASE("memory: bounded to the last N answered turns", "[memory]") {
  conversation_memory m("c", 2);
  for (int t = 1; t <= 5; ++t) {
    REQUIRE(m.apply(asked(t, "q" + std::to_string(t))));
    REQUIRE(m.apply(planned(t)));
    REQUIRE(m.apply(answered(t, "a" + std::to_string(t))));
  }
  CHECK(m.answered_through() == 5);
  CHECK(m.find(3) == nullptr);
  auto h = m.history_before(6);
  REQUIRE(h.size() == 2);
  CHECK(h[0]->turn == 4);
  CHECK(h[1]->turn == 5);
  // A late duplicate of a forgotten turn changes nothing.
  auto before = m.digest();
  REQUIRE(m.apply(asked(2, "q2")));
  REQUIRE(m.apply(answered(2, "a2")));
  CHECK(m.digest() == before);
}

TEST_CASE("memory: resolved questions, results and answers are remembered", "[memory]") {
  conversation_memory m("c");
  for (auto& e : three_turns())
    REQUIRE(m.apply(e));
  auto h = m.history_before(3);
  REQUIRE(h.size() == 2);
  CHECK(h[0]->resolved.empty()); // turn 1 planned as asked
  CHECK(h[1]->question == "and in GBP?");
  CHECK(h[1]->resolved == "What does the Aurora X1 cost in GBP?");
  CHECK(h[1]->results_json == R"({"s2":{"converted":1020.5}})");
  CHECK(h[1]->answer == "1020.50 GBP");
  REQUIRE(m.next_to_plan() != nullptr);
  CHECK(m.next_to_plan()->turn == 3);
}

TEST_CASE("memory: snapshot round trip and replay in any topic interleaving", "[memory]") {
  auto log = three_turns();
  conversation_memory live("c", 4);
  for (auto& e : log)
    REQUIRE(live.apply(e));
  auto back = conversation_memory::restore("c", 4, live.snapshot());
  REQUIRE(back);
  CHECK(back->digest() == live.digest());
  CHECK(back->snapshot() == live.snapshot());
  // The snapshot plus the whole log again (a replay over a restored store) is the same memory.
  for (auto& e : log)
    REQUIRE(back->apply(e));
  CHECK(back->digest() == live.digest());

  // Questions are on user-commands, the rest on conversation-events: a replay interleaves the
  // two topics differently, the questions staying in their order.
  std::vector<events::event> questions, others;
  for (auto& e : log)
    (std::holds_alternative<events::user_query_received>(e.data) ? questions : others).push_back(e);
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<bool> pick(questions.size(), true);
    pick.resize(log.size(), false);
    std::shuffle(pick.begin(), pick.end(), rng);
    conversation_memory replay("c", 4);
    size_t q = 0, o = 0;
    for (bool from_questions : pick)
      REQUIRE(replay.apply(from_questions ? questions[q++] : others[o++]));
    CHECK(replay.digest() == live.digest());
  }

  CHECK_FALSE(conversation_memory::restore("c", 4, "{\"v\":2}"));
  CHECK_FALSE(conversation_memory::restore("c", 4, "not json"));
}

TEST_CASE("memory: a replay that reads answers far ahead of their questions", "[memory]") {
  std::vector<events::event> questions, others;
  for (int t = 1; t <= 5; ++t) {
    questions.push_back(asked(t, "q" + std::to_string(t)));
    others.push_back(planned(t));
    others.push_back(answered(t, "a" + std::to_string(t)));
  }
  questions.push_back(asked(6, "q6"));
  conversation_memory live("c", 2);
  for (int t = 0; t < 5; ++t) {
    REQUIRE(live.apply(questions[t]));
    REQUIRE(live.apply(others[2 * t]));
    REQUIRE(live.apply(others[2 * t + 1]));
  }
  REQUIRE(live.apply(questions[5]));
  // Every answer first, then the questions: turns 1-3 are forgotten before they are read.
  conversation_memory replay("c", 2);
  for (auto& e : others)
    REQUIRE(replay.apply(e));
  for (auto& e : questions)
    REQUIRE(replay.apply(e));
  CHECK(replay.digest() == live.digest());
  REQUIRE(replay.next_to_plan() != nullptr);
  CHECK(replay.next_to_plan()->turn == 6);
}
