// The orchestrator's fold (core/plan_state.cpp) when things go wrong: retries with backoff,
// exhausted and permanent failures, overdue requests, invalid plans, unresolvable placeholders,
// foreign events, turn timeouts and oversized arguments.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/backoff.hpp"
#include "core/plan_state.hpp"
#include "model/ids.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using namespace eventide::core;
using namespace eventide::testing;

TEST_CASE("plan state: a retryable error retries after backoff with the same invocation id", "[plan_state]") {
  orchestration_policy policy;
  policy.retry_backoff = {1000, 60000, 2.0};
  harness h(policy);
  h.plan(R"({"steps":[{"id":"s1","tool":"weather","args":{"city":"Oslo"}}]})");
  REQUIRE(h.decide(1000).size() == 1);

  h.feed(error_result("s1", "weather", "HTTP 503", true, 1), 1500);
  int64_t delay = backoff_delay_ms(policy.retry_backoff, 1, "c1/1/s1");
  REQUIRE(delay > 0);
  REQUIRE(delay <= 1000);
  const int64_t retry_at = 1500 + delay;
  const auto& s1 = step(h.live, "s1");
  CHECK(s1.status == step_status::pending);
  CHECK(s1.errors == 1);
  CHECK(s1.error == "HTTP 503");
  CHECK(s1.not_before == retry_at);
  CHECK(h.live.next_wakeup() == retry_at);

  CHECK(h.decide(retry_at - 1).empty()); // not before the backoff
  auto out = h.decide(retry_at);
  REQUIRE(out.size() == 1);
  const auto& retry = as<events::tool_invocation_requested>(out[0]);
  CHECK(retry.invocation_id == "c1/1/s1");
  CHECK(retry.attempt == 2);
  CHECK(retry.args_json == R"({"city":"Oslo"})");
  CHECK(retry.deadline == retry_at + 30000);

  // The same error delivered again is a duplicate, not a second failure.
  h.feed(error_result("s1", "weather", "HTTP 503", true, 1), retry_at + 5);
  CHECK(step(h.live, "s1").errors == 1);
  CHECK(step(h.live, "s1").status == step_status::requested);

  h.feed(ok_result("s1", "weather", R"({"tempC":3})", 2), retry_at + 10);
  out = h.decide(retry_at + 10);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_step_completed>(out[0]).attempts == 2);
  CHECK(as<events::plan_completed>(out[1]).results_json == R"({"s1":{"tempC":3}})");
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: exhausted retries fail the plan with partial results", "[plan_state]") {
  orchestration_policy policy;
  policy.max_attempts = 3;
  policy.retry_backoff = {100, 1000, 2.0};
  harness h(policy);
  h.plan(R"({"steps":[
    {"id":"s1","tool":"weather","args":{"city":"Oslo"}},
    {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR"}},
    {"id":"s3","tool":"generalChat","args":{"message":"{{s2.result}}"}}]})");
  REQUIRE(h.decide(0).size() == 2);
  h.feed(ok_result("s1", "weather", R"({"tempC":3})"), 10);

  int64_t now = 10;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    h.feed(error_result("s2", "exchangeRate", "rate service unavailable", true, attempt), now);
    CHECK(step(h.live, "s2").status == step_status::pending);
    now = *h.live.next_wakeup();
    auto out = h.decide(now);
    auto req = std::find_if(out.begin(), out.end(), [](const events::payload& p) {
      return std::holds_alternative<events::tool_invocation_requested>(p);
    });
    REQUIRE(req != out.end());
    CHECK(as<events::tool_invocation_requested>(*req).attempt == attempt + 1);
    CHECK(as<events::tool_invocation_requested>(*req).step_id == "s2");
  }
  h.feed(error_result("s2", "exchangeRate", "rate service unavailable", true, 3), now + 1);
  CHECK(step(h.live, "s2").status == step_status::failed);
  CHECK(step(h.live, "s2").errors == 3);
  CHECK_FALSE(h.live.next_wakeup()); // nothing is scheduled for a failed step

  auto out = h.decide(now + 1);
  REQUIRE(out.size() == 2);
  const auto& c = as<events::plan_step_completed>(out[0]);
  CHECK(c.step_id == "s2");
  CHECK(c.status == "error");
  CHECK(c.attempts == 3);
  const auto& f = as<events::plan_failed>(out[1]);
  CHECK(f.plan_version == 1);
  CHECK(f.failed_step == "s2");
  CHECK(f.reason == "step s2 (exchangeRate) failed after 3 attempts: rate service unavailable");
  CHECK(f.partial_results_json == R"({"s1":{"tempC":3}})");
  CHECK(f.compensation_done);
  CHECK(h.live.status() == plan_status::failed);
  CHECK(h.live.failure_reason() == f.reason);
  CHECK(step(h.live, "s3").status == step_status::pending); // never requested
  CHECK(step(h.live, "s3").attempt == 0);
  CHECK(h.decide(now + 100000).empty());
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: a non-retryable error fails at once and stops new requests", "[plan_state]") {
  harness h;
  h.plan(R"({"steps":[
    {"id":"s1","tool":"math","args":{"expression":"1/0"}},
    {"id":"s3","tool":"weather","args":{"city":"Oslo"}},
    {"id":"s2","tool":"generalChat","args":{"message":"{{s3.result.tempC}} degrees"}}]})");
  REQUIRE(h.decide(0).size() == 2); // s1 and s3
  h.feed(error_result("s1", "math", "division by zero at position 2", false, 1), 5);
  h.feed(ok_result("s3", "weather", R"({"tempC":3})"), 6);
  auto out = h.decide(10);
  REQUIRE(out.size() == 3); // no request for s2 although it is ready
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s1");
  CHECK(as<events::plan_step_completed>(out[0]).status == "error");
  CHECK(as<events::plan_step_completed>(out[1]).step_id == "s3");
  const auto& f = as<events::plan_failed>(out[2]);
  CHECK(f.failed_step == "s1");
  CHECK(f.reason == "step s1 (math) failed after 1 attempt: division by zero at position 2");
  CHECK(f.partial_results_json == R"({"s3":{"tempC":3}})");
  CHECK(step(h.live, "s2").status == step_status::pending);
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: an overdue request is re-requested without counting as a failure", "[plan_state]") {
  orchestration_policy policy;
  policy.step_timeout_ms = 5000;
  policy.max_attempts = 1;
  harness h(policy);
  h.plan(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2+2"}}]})");
  REQUIRE(h.decide(1000).size() == 1);
  CHECK(h.live.next_wakeup() == 6000);
  CHECK(h.decide(5999).empty());

  auto out = h.decide(6000);
  REQUIRE(out.size() == 1);
  const auto& again = as<events::tool_invocation_requested>(out[0]);
  CHECK(again.invocation_id == "c1/1/s1");
  CHECK(again.attempt == 2);
  CHECK(again.deadline == 11000);
  CHECK(again.args_json == R"({"expression":"2+2"})");
  CHECK(step(h.live, "s1").errors == 0);

  out = h.decide(11000);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).attempt == 3);

  // A late retryable error of an older attempt is stale: attempt 3 is still in flight.
  h.feed(error_result("s1", "math", "busy", true, 1), 11500);
  CHECK(step(h.live, "s1").status == step_status::requested);
  CHECK(step(h.live, "s1").errors == 0);

  // The first attempt's answer finally arrives: any ok result completes the step.
  h.feed(ok_result("s1", "math", R"({"value":4})", 1), 12000);
  out = h.decide(12000);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_step_completed>(out[0]).attempts == 3);
  CHECK(as<events::plan_completed>(out[1]).results_json == R"({"s1":{"value":4}})");
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: an invalid plan fails once with the reason", "[plan_state]") {
  harness h;
  h.plan(R"({"steps":[{"id":"s1","tool":"fly","args":{}}]})");
  CHECK(h.live.status() == plan_status::failed);
  CHECK(h.live.failure_reason() == "invalid plan: step s1: unknown tool 'fly'");
  CHECK(h.live.steps().empty());
  auto out = h.decide(10);
  REQUIRE(out.size() == 1);
  const auto& f = as<events::plan_failed>(out[0]);
  CHECK(f.plan_version == 1);
  CHECK(f.failed_step.empty());
  CHECK(f.reason == "invalid plan: step s1: unknown tool 'fly'");
  CHECK(f.partial_results_json == "{}");
  CHECK(h.decide(20).empty());
  CHECK(h.replay_digest(h.log) == h.live.digest());

  harness not_json;
  not_json.plan("not json");
  out = not_json.decide(0);
  REQUIRE(out.size() == 1);
  CHECK(as<events::plan_failed>(out[0]).reason.find("invalid plan: plan is not valid JSON") == 0);
}

TEST_CASE("plan state: an unresolvable placeholder fails the step and the plan", "[plan_state]") {
  harness h;
  h.plan(R"({"steps":[
    {"id":"s1","tool":"getProductInformation","args":{"query":"x"}},
    {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"}}]})");
  h.decide(0);
  h.feed(ok_result("s1", "getProductInformation", R"({"name":"x"})"), 10);
  auto out = h.decide(10);
  REQUIRE(out.size() == 2); // s2 never ran, so it has no PlanStepCompleted (attempts >= 1)
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s1");
  const auto& f = as<events::plan_failed>(out[1]);
  CHECK(f.failed_step == "s2");
  CHECK(f.reason
        == "step s2: placeholder '{{steps.s1.result.price}}': path 'price' not found in result of step 's1'");
  CHECK(f.partial_results_json == R"({"s1":{"name":"x"}})");
  CHECK(step(h.live, "s2").status == step_status::failed);
  CHECK(step(h.live, "s2").attempt == 0);
  CHECK_FALSE(step(h.live, "s2").completion_recorded);
  CHECK(step(h.live, "s2").error
        == "placeholder '{{steps.s1.result.price}}': path 'price' not found in result of step 's1'");
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: events of other plans and conversations are ignored", "[plan_state]") {
  harness h;
  h.plan(design_plan);
  h.decide(0);
  auto before = h.live.digest();

  auto other_version = ok_result("s1", "getProductInformation", "{}");
  other_version.invocation_id = make_invocation_id(conv, 7, "s1").get();
  h.live.apply(h.wrap(other_version, 1));
  auto other_conv = h.wrap(ok_result("s1", "getProductInformation", "{}"), 1);
  other_conv.subject = "c2";
  h.live.apply(other_conv);
  h.live.apply(h.wrap(ok_result("nope", "math", "{}"), 1));
  h.live.apply(h.wrap(events::plan_completed{3, "{}"}, 1));
  h.live.apply(h.wrap(events::user_query_received{conv, "u", "q", 0}, 1));
  // An older or duplicate PlanGenerated does not reset anything.
  events::plan_generated dup;
  dup.plan_version = 1;
  dup.plan_json = R"({"steps":[{"id":"z","tool":"math","args":{"expression":"1"}}]})";
  h.live.apply(h.wrap(dup, 2));
  CHECK(h.live.digest() == before);
}

TEST_CASE("plan state: a turn with no progress for turn-timeout-ms fails with the reason", "[plan_state]") {
  // Issue 12: a request nobody answers (a tool no worker serves) was re-requested every
  // step-timeout-ms, forever; the user waited forever.
  orchestration_policy policy;
  policy.step_timeout_ms = 1000;
  policy.turn_timeout_ms = 5000;
  harness h(policy);
  h.plan(R"({"steps":[
    {"id":"s1","tool":"weather","args":{"city":"Oslo"}},
    {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":1}}]})");
  REQUIRE(h.decide(100).size() == 2);
  h.feed(ok_result("s1", "weather", R"({"tempC":3})"), 1000); // progress: the deadline moves
  CHECK(*h.live.next_wakeup() == 1100); // s2's re-request comes first
  int64_t now = 1100;
  int requests = 1;
  while (true) {
    auto wake = h.live.next_wakeup();
    REQUIRE(wake);
    now = *wake;
    auto out = h.decide(now);
    if (!out.empty() && std::holds_alternative<events::plan_failed>(out.back())) {
      const auto& f = as<events::plan_failed>(out.back());
      CHECK(now == 6000); // last progress at 1000 + 5000
      CHECK(f.failed_step == "s2");
      CHECK(f.reason == "turn timed out: no progress for 5 s (turn-timeout-ms); step s2 "
                        "(exchangeRate) still waiting after " + std::to_string(requests) + " attempts");
      REQUIRE(out.size() == 2);
      CHECK(as<events::plan_step_completed>(out[0]).status == "error");
      break;
    }
    REQUIRE(!out.empty()); // a re-request of s2 (the first time with s1's completion)
    REQUIRE(std::holds_alternative<events::tool_invocation_requested>(out.front()));
    ++requests;
    REQUIRE(now < 6000);
  }
  CHECK(requests == 6); // at 100, then every step-timeout-ms from 1100 to 5100
  CHECK(h.live.finished());
  CHECK_FALSE(h.live.next_wakeup());
  // The same events replayed give the same state (the deadline is event time, not wall time).
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("plan state: turn-timeout-ms 0 never fails a turn", "[plan_state]") {
  orchestration_policy policy;
  policy.step_timeout_ms = 1000;
  policy.turn_timeout_ms = 0;
  harness h(policy);
  h.plan(R"({"steps":[{"id":"s1","tool":"weather","args":{"city":"Oslo"}}]})");
  REQUIRE(h.decide(100).size() == 1);
  CHECK(*h.live.next_wakeup() == 1100);
  auto out = h.decide(10'000'000);
  REQUIRE(out.size() == 1);
  CHECK(std::holds_alternative<events::tool_invocation_requested>(out[0]));
}

TEST_CASE("plan state: an invalid plan is not finished until its PlanFailed is decided", "[plan_state]") {
  harness h;
  h.plan(R"({"steps":[
    {"id":"s1","tool":"weather","args":{"city":"{{steps.s2.result.city}}"}},
    {"id":"s2","tool":"weather","args":{"city":"Oslo"},"dependsOn":["s1"]}]})");
  CHECK(h.live.status() == plan_status::failed);
  CHECK_FALSE(h.live.finished()); // the orchestrator must not compact it away yet
  auto out = h.decide(0);
  REQUIRE(out.size() == 1);
  CHECK(as<events::plan_failed>(out[0]).reason == "invalid plan: cycle: s1 -> s2 -> s1");
  CHECK(h.live.finished());
}

TEST_CASE("plan state: arguments too large or too deep after substitution fail the step", "[plan_state]") {
  // A result substituted into the next request could make that request one its readers refuse
  // (over the record size or the depth bound): refused at encode on every attempt, the turn
  // used to wait for turn-timeout-ms. Now the step fails at once with the reason.
  auto run = [](const std::string& result) {
    harness h;
    h.plan(R"({"steps":[
      {"id":"s1","tool":"ragGeneration","args":{"query":"x"}},
      {"id":"s2","tool":"generalChat","args":{"message":"{{steps.s1.result}}"}}]})");
    h.decide(0);
    h.feed(ok_result("s1", "ragGeneration", result), 10);
    auto out = h.decide(10);
    REQUIRE(out.size() == 2);
    CHECK(h.replay_digest(h.log) == h.live.digest());
    return as<events::plan_failed>(out[1]).reason;
  };
  CHECK(run(R"({"answer":")" + std::string(600 * 1024, 'a') + R"("})")
        == "step s2: arguments too large after substituting placeholders (614425 bytes, at most "
           "524288)");
  auto deep = std::string(61, '[') + std::string(61, ']');
  CHECK(run(R"({"answer":)" + deep + "}")
        == "step s2: arguments nested deeper than 62 levels after substituting placeholders");
  // One level less fits.
  harness h;
  h.plan(R"({"steps":[
    {"id":"s1","tool":"ragGeneration","args":{"query":"x"}},
    {"id":"s2","tool":"generalChat","args":{"message":"{{steps.s1.result}}"}}]})");
  h.decide(0);
  h.feed(ok_result("s1", "ragGeneration", R"({"answer":)" + std::string(60, '[') + std::string(60, ']') + "}"), 10);
  auto out = h.decide(10);
  REQUIRE_FALSE(out.empty());
  CHECK(std::holds_alternative<events::tool_invocation_requested>(out[0]));
}
