#include <catch2/catch.hpp>

#include <algorithm>

#include "core/backoff.hpp"
#include "model/ids.hpp"
#include "core/plan_state.hpp"

using namespace eventide;
using namespace eventide::core;

namespace {

const std::string conv = "c1";

const char* const design_plan = R"({ "steps": [
    { "id": "s1", "tool": "getProductInformation", "args": { "query": "Aurora X1 laptop price" } },
    { "id": "s2", "tool": "exchangeRate",
      "args": { "from": "USD", "to": "EUR", "amount": "{{steps.s1.result.price}}" } },
    { "id": "s3", "tool": "weather", "args": { "city": "Berlin" } } ],
  "finalAnswerRequired": true })";

std::string inv(const std::string& step, int version = 1) {
  return make_invocation_id(conv, version, step).get();
}

events::tool_invocation_resulted ok_result(const std::string& step, const std::string& tool,
                                           const std::string& result, int attempt = 1) {
  events::tool_invocation_resulted r;
  r.invocation_id = inv(step);
  r.attempt = attempt;
  r.step_id = step;
  r.tool = tool;
  r.ok = true;
  r.result_json = result;
  return r;
}

events::tool_invocation_resulted error_result(const std::string& step, const std::string& tool,
                                              const std::string& error, bool retryable, int attempt) {
  events::tool_invocation_resulted r;
  r.invocation_id = inv(step);
  r.attempt = attempt;
  r.step_id = step;
  r.tool = tool;
  r.ok = false;
  r.result_json = "null";
  r.error = error;
  r.retryable = retryable;
  return r;
}

// Drives one live state the way the orchestrator actor does, and records the log it produces:
// every input event and every decided event (which comes back from the log and is applied).
struct harness {
  explicit harness(orchestration_policy p = {}) : policy(p), live(conv, p) {}

  orchestration_policy policy;
  conversation_state live;
  std::vector<events::event> log;

  events::event wrap(events::payload p, int64_t t) {
    return events::event{"e" + std::to_string(log.size() + 1), "eventide/test/n1", t, conv, "", "",
                         std::move(p)};
  }

  void feed(events::payload p, int64_t t) {
    log.push_back(wrap(std::move(p), t));
    live.apply(log.back());
  }

  void plan(const std::string& plan_json, int version = 1, int64_t t = 0) {
    events::plan_generated g;
    g.plan_version = version;
    g.plan_json = plan_json;
    g.planner_provider = "offline";
    feed(g, t);
  }

  std::vector<events::payload> decide(int64_t now) {
    auto out = live.decide(now);
    // Everything decided is already in the state: applying it from the log changes nothing.
    auto before = live.digest();
    for (const auto& p : out) {
      log.push_back(wrap(p, now));
      live.apply(log.back());
    }
    CHECK(live.digest() == before);
    return out;
  }

  std::string replay_digest(const std::vector<events::event>& events) const {
    conversation_state fresh(conv, policy);
    for (const auto& e : events)
      fresh.apply(e);
    return fresh.digest();
  }
};

template <class T>
const T& as(const events::payload& p) {
  const T* v = std::get_if<T>(&p);
  REQUIRE(v != nullptr);
  return *v;
}

const step_state& step(const conversation_state& s, const std::string& id) {
  auto it = std::find_if(s.steps().begin(), s.steps().end(),
                         [&](const step_state& x) { return x.step.id == id; });
  REQUIRE(it != s.steps().end());
  return *it;
}

} // namespace

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
