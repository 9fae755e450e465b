// The aggregator and synthesis roles (actors/answer_roles.cpp) on CAF's deterministic `testing`
// scheduler, synthesis with the offline template synthesizer: a fake producer records what
// they emit. No log, no threads.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/answer_roles.hpp"
#include "tests/actors/role_fixture.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

// "What is 2 plus 100?" as the offline planner plans it and the offline math tool answers it.
const char* question = "What is 2 plus 100?";
const char* plan_json =
  R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2 + 100"}}],"finalAnswerRequired":true})";
const char* results_json = R"({"s1":{"expression":"2 + 100","value":102}})";
const char* answer_text = "The answer is 102 (2 + 100).\n"
                          "Details:\n"
                          "- s1 math: 2 + 100 = 102\n"
                          "Note: answered offline; no LLM or live service was used.";

// The records of a conversation up to its completed plan, as the roles read them.
std::vector<events::event> completed_plan(const std::string& conv) {
  return {input_event(conv, events::user_query_received{conv, "tester", question, 1000}),
          input_event(conv, events::plan_generated{1, plan_json, "offline", "rule-based", 0}),
          input_event(conv, events::plan_completed{1, results_json})};
}

struct roles_fixture : role_fixture {
  role_actor aggregator;
  role_actor synthesis;

  roles_fixture() : role_fixture("eventide-answer-roles") {
    aggregator = spawn_aggregator(*sys, producer, "eventide/aggregator/test");
    synthesis = spawn_synthesis(*sys, producer, "eventide/synthesis/test", nullptr);
    run();
  }

  ~roles_fixture() {
    for (auto& a : {aggregator, synthesis})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  void deliver(const role_actor& role, const events::event& e, int32_t partition = 0) {
    deliver_to(role, e, partition);
  }

  void go_live(const role_actor& role, std::vector<int32_t> partitions = {0}) {
    caf::anon_send(role, live_atom::value, std::move(partitions));
    run();
  }

  // A role that was running is killed and a new one takes its place, in restore mode.
  void restart(role_actor& role, bool is_aggregator) {
    caf::anon_send_exit(role, caf::exit_reason::kill);
    run();
    role = is_aggregator ? spawn_aggregator(*sys, producer, "eventide/aggregator/test")
                         : spawn_synthesis(*sys, producer, "eventide/synthesis/test", nullptr);
    caf::anon_send(role, restore_atom::value);
    run();
  }
};

const events::synthesize_final_answer_requested& request_of(const events::event& e) {
  return std::get<events::synthesize_final_answer_requested>(e.data);
}

const events::final_answer_synthesized& answer_of(const events::event& e) {
  return std::get<events::final_answer_synthesized>(e.data);
}

} // namespace

TEST_CASE_METHOD(roles_fixture, "answer roles: PlanCompleted leads to the exact final answer for a known plan") {
  go_live(aggregator);
  go_live(synthesis);
  deliver_all(aggregator, completed_plan("c1"));
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested"});
  auto& cmd = rec->events[0];
  CHECK(cmd.id == "c1/synthesize");
  CHECK(cmd.subject == "c1");
  CHECK(cmd.source == "eventide/aggregator/test");
  CHECK(cmd.causation_id == "c1/1/completed");
  auto& req = request_of(cmd);
  CHECK(req.query == question);
  CHECK(req.plan_version == 1);
  CHECK(req.plan_json == plan_json);
  CHECK(req.results_json == results_json);
  CHECK(req.failure.empty());
  CHECK(req.failed_step.empty());

  deliver(synthesis, cmd);
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested",
                                                   "FinalAnswerSynthesized"});
  auto& ans = rec->events[1];
  CHECK(ans.id == "c1/answer");
  CHECK(ans.source == "eventide/synthesis/test");
  CHECK(ans.causation_id == "c1/synthesize");
  CHECK(answer_of(ans).answer == answer_text);
  CHECK(answer_of(ans).provider == "offline");
  CHECK(answer_of(ans).model == "template");
  CHECK(answer_of(ans).citations.empty());
  CHECK_FALSE(answer_of(ans).failed);
  CHECK(*replies == std::vector<std::string>(4, "ok"));
}

TEST_CASE_METHOD(roles_fixture, "aggregator: asks once, whatever comes again") {
  go_live(aggregator);
  auto records = completed_plan("c2");
  deliver_all(aggregator, records);
  REQUIRE(rec->events.size() == 1);
  // The terminal record again, its own command echoed back, a late PlanFailed: nothing more.
  deliver(aggregator, records.back());
  deliver(aggregator, rec->events[0]);
  deliver(aggregator, input_event("c2", events::plan_failed{1, "s1", "late", "{}", true}));
  CHECK(rec->events.size() == 1);
  CHECK(*replies == std::vector<std::string>(6, "ok"));
}

TEST_CASE_METHOD(roles_fixture, "aggregator: waits for the query when the terminal event comes first") {
  go_live(aggregator);
  auto records = completed_plan("c3");
  deliver(aggregator, records[1]);
  deliver(aggregator, records[2]);
  CHECK(rec->events.empty());
  deliver(aggregator, records[0]);
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested"});
  CHECK(rec->events[0].causation_id == "c3/query");
  CHECK(request_of(rec->events[0]).results_json == results_json);
}

TEST_CASE_METHOD(roles_fixture, "answer roles: a planning failure is explained in the answer") {
  go_live(aggregator);
  go_live(synthesis);
  deliver(aggregator, input_event("pf", events::user_query_received{"pf", "tester", "   ", 1000}));
  deliver(aggregator, input_event("pf", events::planning_failed{"empty question", {"offline: empty question"}}));
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested"});
  auto& req = request_of(rec->events[0]);
  CHECK(req.query == "   ");
  CHECK(req.plan_version == 0);
  CHECK(req.plan_json == "null");
  CHECK(req.results_json == "{}");
  CHECK(req.failure == "planning failed: empty question");
  CHECK(req.failed_step.empty());
  deliver(synthesis, rec->events[0]);
  REQUIRE(rec->events.size() == 2);
  auto& ans = answer_of(rec->events[1]);
  CHECK(ans.answer
        == "I could not complete this request: planning failed: empty question\n"
           "Note: answered offline; no LLM or live service was used.");
  CHECK(ans.failed);
}

TEST_CASE_METHOD(roles_fixture, "answer roles: a failed step is explained in the answer") {
  go_live(aggregator);
  go_live(synthesis);
  const char* weather_plan =
    R"({"steps":[{"id":"s1","tool":"weather","args":{"city":"Atlantis"}}],"finalAnswerRequired":true})";
  const std::string reason = "step s1 (weather) failed after 1 attempt: weather: unknown city 'Atlantis'";
  deliver(aggregator, input_event("at", events::user_query_received{"at", "tester",
                                                                    "What is the weather in Atlantis?", 1000}));
  deliver(aggregator, input_event("at", events::plan_generated{1, weather_plan, "offline", "rule-based", 0}));
  deliver(aggregator, input_event("at", events::plan_failed{1, "s1", reason, "{}", true}));
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested"});
  auto& req = request_of(rec->events[0]);
  CHECK(req.plan_json == weather_plan);
  CHECK(req.failure == reason);
  CHECK(req.failed_step == "s1");
  deliver(synthesis, rec->events[0]);
  REQUIRE(rec->events.size() == 2);
  auto& ans = answer_of(rec->events[1]);
  CHECK(ans.answer
        == "I could not complete this request: " + reason + "\n"
           "Details:\n"
           "- s1 weather: failed\n"
           "Note: answered offline; no LLM or live service was used.");
  CHECK(ans.failed);
}

TEST_CASE_METHOD(roles_fixture, "aggregator: restore folds without emitting, going live asks what the log lacks") {
  // Live first: the command as made while running.
  go_live(aggregator);
  auto records = completed_plan("r1");
  deliver_all(aggregator, records);
  REQUIRE(rec->events.size() == 1);
  const auto live_cmd = rec->events[0];

  // kill -9 before the command reached the log: the replay holds the inputs only.
  restart(aggregator, true);
  rec->events.clear();
  deliver_all(aggregator, records);
  CHECK(rec->events.empty()); // restore mode decides nothing
  go_live(aggregator);
  // The state rebuilt from the replay makes the same command: same id, same payload; its cause
  // is unknown after a restore.
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested"});
  CHECK(rec->events[0].id == live_cmd.id);
  CHECK(rec->events[0].causation_id.empty());
  CHECK(request_of(rec->events[0]).query == request_of(live_cmd).query);
  CHECK(request_of(rec->events[0]).plan_json == request_of(live_cmd).plan_json);
  CHECK(request_of(rec->events[0]).results_json == request_of(live_cmd).results_json);

  // Restarted once more, with the command in the log this time: nothing to ask.
  restart(aggregator, true);
  rec->events.clear();
  deliver_all(aggregator, records);
  deliver(aggregator, live_cmd);
  go_live(aggregator);
  CHECK(rec->events.empty());
}

TEST_CASE_METHOD(roles_fixture, "aggregator: revoked partitions are forgotten, the others kept") {
  caf::anon_send(aggregator, restore_atom::value);
  run();
  for (auto& e : completed_plan("on0"))
    deliver(aggregator, e, 0);
  for (auto& e : completed_plan("on1"))
    deliver(aggregator, e, 1);
  caf::anon_send(aggregator, revoke_atom::value, std::vector<int32_t>{1});
  run();
  go_live(aggregator, {0});
  REQUIRE(rec->types() == std::vector<std::string>{"SynthesizeFinalAnswerRequested"});
  CHECK(rec->events[0].subject == "on0");
}

TEST_CASE_METHOD(roles_fixture, "synthesis: answers a request once, and not at all when its answer is in the log") {
  go_live(synthesis);
  auto cmd = input_event("s1", events::synthesize_final_answer_requested{question, 1, plan_json,
                                                                         results_json, "", ""});
  deliver(synthesis, cmd);
  deliver(synthesis, cmd); // delivered again
  REQUIRE(rec->types() == std::vector<std::string>{"FinalAnswerSynthesized"});
  CHECK(answer_of(rec->events[0]).answer == answer_text);
  const auto live_answer = rec->events[0];

  // Restored from a log without the answer: going live answers, the same answer.
  restart(synthesis, false);
  rec->events.clear();
  deliver(synthesis, cmd);
  CHECK(rec->events.empty());
  go_live(synthesis);
  REQUIRE(rec->types() == std::vector<std::string>{"FinalAnswerSynthesized"});
  CHECK(rec->events[0].id == live_answer.id);
  CHECK(answer_of(rec->events[0]).answer == answer_text);
  CHECK(rec->events[0].causation_id.empty());

  // Restored from a log with the answer (it comes before or after the request): nothing.
  for (bool answer_first : {true, false}) {
    restart(synthesis, false);
    rec->events.clear();
    deliver(synthesis, answer_first ? live_answer : cmd);
    deliver(synthesis, answer_first ? cmd : live_answer);
    go_live(synthesis);
    CHECK(rec->events.empty());
  }
}

TEST_CASE_METHOD(roles_fixture, "answer roles: a request is acknowledged only once its output is durable") {
  auto held = std::make_shared<held_publishes>();
  auto slow = sys->spawn(holding_producer, rec, held);
  auto role = spawn_synthesis(*sys, slow, "eventide/synthesis/test", nullptr);
  run();
  go_live(role);
  deliver(role, input_event("d", events::synthesize_final_answer_requested{question, 1, plan_json,
                                                                           results_json, "", ""}));
  CHECK(rec->types() == std::vector<std::string>{"FinalAnswerSynthesized"});
  CHECK(replies->empty());
  caf::anon_send(slow, serve_atom::value);
  run();
  CHECK(*replies == std::vector<std::string>{"ok"});
  caf::anon_send_exit(role, caf::exit_reason::user_shutdown);
  run();
}

// After an aborted transaction (exactly-once on Kafka) the consumer bridge revokes the role's
// partitions and replays them: an answer decided in the aborted transaction is not in the log,
// so the replay must decide it again (kafka.resilience's broker restart found it was not).
TEST_CASE_METHOD(roles_fixture,
                 "synthesis decides an answer again when the transaction that held it was aborted") {
  go_live(synthesis);
  auto req = input_event("c9", events::synthesize_final_answer_requested{
                                 question, 1, plan_json, results_json, "", ""});
  deliver(synthesis, req);
  REQUIRE(rec->types() == std::vector<std::string>{"FinalAnswerSynthesized"});
  CHECK(answer_of(rec->events[0]).answer == answer_text);
  auto rewind = [&] { // what the bridge does after an aborted transaction
    caf::anon_send(synthesis, revoke_atom::value, std::vector<int32_t>{0});
    caf::anon_send(synthesis, restore_atom::value);
    run();
  };

  // Aborted: the log holds the request, not the answer.
  rewind();
  deliver(synthesis, req);
  go_live(synthesis);
  REQUIRE(rec->events.size() == 2);
  CHECK(rec->events[1].id == rec->events[0].id); // the same decision, the same id
  CHECK(answer_of(rec->events[1]).answer == answer_text);

  // Committed this time: the replay sees the answer and decides nothing.
  auto answer = rec->events[1];
  rewind();
  deliver(synthesis, req);
  deliver(synthesis, answer);
  go_live(synthesis);
  CHECK(rec->events.size() == 2);
}
