#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"

using namespace eventide;

namespace {

events::event ev(const std::string& conv, events::payload p, int64_t t,
                 const std::string& source = "test", const std::string& cause = "") {
  events::event e;
  e.id = core::deterministic_id(conv, p);
  e.source = source;
  e.time_ms = t;
  e.subject = conv;
  e.causation_id = cause;
  e.data = std::move(p);
  return e;
}

events::user_query_received question(const std::string& conv) {
  return {conv, "u", "q", 0};
}

events::final_answer_synthesized answer(bool failed = false) {
  return {"A", "offline", "template", {}, failed};
}

events::tool_invocation_requested req(const std::string& conv, const char* step, const char* tool,
                                      int attempt = 1) {
  return {conv + "/1/" + step, attempt, step, tool, "{}", 0};
}

events::tool_invocation_resulted res(const std::string& conv, const char* step, const char* tool,
                                     bool ok = true, bool retryable = false, int attempt = 1) {
  return {conv + "/1/" + step, attempt, step, tool, ok, ok ? "{}" : "null", ok ? "" : "x",
          retryable, 0};
}

} // namespace

TEST_CASE("latency summary uses nearest-rank percentiles") {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i)
    v.push_back(i);
  auto s = core::summarize_latency(v);
  CHECK(s.count == 100);
  CHECK(s.window == 100);
  CHECK(s.sum_ms == 5050);
  CHECK(s.p50_ms == 50);
  CHECK(s.p95_ms == 95);
  CHECK(s.p99_ms == 99);
  CHECK(s.max_ms == 100);
  CHECK(s.mean_ms == 50.5);
  CHECK(core::summarize_latency({7}).p99_ms == 7);
  CHECK(core::summarize_latency({}).count == 0);
}

TEST_CASE("metrics fold: end-to-end and per-tool latency, outcomes, retries, dead letters") {
  core::metrics_fold m;
  m.apply(ev("a", question("a"), 1000), "user-commands");
  m.apply(ev("a", req("a", "s1", "math"), 1002), "tool-invocation-requests");
  m.apply(ev("a", res("a", "s1", "math"), 1005), "conversation-events");
  m.apply(ev("a", answer(), 1010), "conversation-events");
  // b: a retryable error, a retry, then success: one latency sample from the first request.
  m.apply(ev("b", question("b"), 2000), "user-commands");
  m.apply(ev("b", req("b", "s1", "weather"), 2001), "tool-invocation-requests");
  m.apply(ev("b", res("b", "s1", "weather", false, true), 2003), "conversation-events");
  m.apply(ev("b", req("b", "s1", "weather", 2), 2010), "tool-invocation-requests");
  m.apply(ev("b", res("b", "s1", "weather", true, false, 2), 2021), "conversation-events");
  m.apply(ev("b", answer(true), 2030), "conversation-events");
  // c: still open.
  m.apply(ev("c", question("c"), 3000), "user-commands");
  m.dead_letter("router");
  m.dead_letter("router");
  m.undecodable("conversation-events");
  auto r = m.report();
  CHECK(r.conversations == 3);
  CHECK(r.answered == 2);
  CHECK(r.failed == 1);
  CHECK(r.open == 1);
  CHECK(r.end_to_end.count == 2);
  CHECK(r.end_to_end.sum_ms == 40);
  CHECK(r.end_to_end.p50_ms == 10);
  CHECK(r.end_to_end.max_ms == 30);
  CHECK(r.per_tool.at("math").p50_ms == 3);
  CHECK(r.per_tool.at("weather").count == 1);
  CHECK(r.per_tool.at("weather").p50_ms == 20);
  CHECK(r.retries == 1);
  CHECK(r.tool_errors == 1);
  CHECK(r.events_by_type.at("ToolInvocationRequested") == 3);
  CHECK(r.events_by_topic.at("user-commands") == 3);
  CHECK(r.events_by_topic.at("conversation-events") == 5);
  CHECK(r.dead_letters_by_group.at("router") == 2);
  CHECK(r.undecodable_by_topic.at("conversation-events") == 1);
  CHECK(r.per_role.empty()); // source "test" is no role
  CHECK(r.duplicates == 0);
  CHECK(r.evicted == 0);
  CHECK(r.events_per_second == Approx(11.0 / 2.0)); // 11 events over 2 s
}

TEST_CASE("metrics fold pairs a result folded before its request, an answer before its question") {
  core::metrics_fold m;
  m.apply(ev("a", res("a", "s1", "math"), 1009), "conversation-events");
  m.apply(ev("a", req("a", "s1", "math"), 1001), "tool-invocation-requests");
  m.apply(ev("a", answer(), 1030), "conversation-events");
  CHECK(m.report().conversations == 0); // the question is not in view yet: not counted
  m.apply(ev("a", question("a"), 1000), "user-commands");
  auto r = m.report();
  CHECK(r.per_tool.at("math").count == 1);
  CHECK(r.per_tool.at("math").p50_ms == 8);
  CHECK(r.conversations == 1);
  CHECK(r.answered == 1);
  CHECK(r.open == 0);
  CHECK(r.end_to_end.p50_ms == 30);
}

TEST_CASE("metrics fold keeps the most recent samples, count and sum cover every sample") {
  core::metrics_fold m(3);
  for (int i = 1; i <= 5; ++i) {
    auto conv = "c" + std::to_string(i);
    m.apply(ev(conv, question(conv), i * 1000), "user-commands");
    m.apply(ev(conv, answer(), i * 1000 + i * 10), "conversation-events"); // 10, 20, ... 50 ms
  }
  auto e2e = m.report().end_to_end;
  CHECK(e2e.count == 5);
  CHECK(e2e.sum_ms == 150);
  CHECK(e2e.mean_ms == 30);
  CHECK(e2e.window == 3); // 30, 40, 50
  CHECK(e2e.p50_ms == 40);
  CHECK(e2e.p95_ms == 50);
  CHECK(e2e.p99_ms == 50);
  CHECK(e2e.max_ms == 50);
}

TEST_CASE("metrics fold memory: paired entries leave, unpaired ones are bounded") {
  SECTION("answered conversations and paired invocations leave at once") {
    // Room for 2 entries: 50 sequential conversations never need more, so none is evicted.
    core::metrics_fold m(0, 2);
    for (int i = 0; i < 50; ++i) {
      auto conv = "c" + std::to_string(i);
      m.apply(ev(conv, question(conv), i * 100), "user-commands");
      m.apply(ev(conv, req(conv, "s1", "math"), i * 100 + 1), "tool-invocation-requests");
      m.apply(ev(conv, res(conv, "s1", "math"), i * 100 + 3), "conversation-events");
      m.apply(ev(conv, answer(), i * 100 + 5), "conversation-events");
    }
    auto r = m.report();
    CHECK(r.evicted == 0);
    CHECK(r.answered == 50);
    CHECK(r.open == 0);
    CHECK(r.end_to_end.count == 50);
    CHECK(r.per_tool.at("math").count == 50);
    CHECK(r.per_tool.at("math").sum_ms == 100);
  }
  SECTION("beyond the bound the oldest open conversation is dropped") {
    core::metrics_fold m(0, 2);
    m.apply(ev("a", question("a"), 1000), "user-commands");
    m.apply(ev("b", question("b"), 1001), "user-commands");
    m.apply(ev("c", question("c"), 1002), "user-commands");
    auto r = m.report();
    CHECK(r.conversations == 3);
    CHECK(r.open == 2);
    CHECK(r.evicted == 1);
    m.apply(ev("c", answer(), 1012), "conversation-events");
    r = m.report();
    CHECK(r.answered == 1);
    CHECK(r.open == 1);
    CHECK(r.end_to_end.sum_ms == 10);
  }
}

TEST_CASE("metrics fold counts a redelivered record once and ignores late records") {
  core::metrics_fold m;
  auto q = ev("a", question("a"), 1000);
  m.apply(q, "user-commands");
  m.apply(q, "user-commands"); // the same event id again: a redelivery
  m.apply(ev("a", answer(), 1010), "conversation-events");
  // A second question record for the answered conversation (another id, e.g. redriven).
  auto again = q;
  again.id = "a/query-again";
  again.time_ms = 5000;
  m.apply(again, "user-commands");
  m.apply(ev("a", res("a", "s1", "math"), 1005), "conversation-events");
  m.apply(ev("a", req("a", "s1", "math"), 1001), "tool-invocation-requests");
  // A result of a later attempt after the step's latency was taken.
  m.apply(ev("a", res("a", "s1", "math", true, false, 2), 1100), "conversation-events");
  auto r = m.report();
  CHECK(r.duplicates == 1);
  CHECK(r.events_by_type.at("UserQueryReceived") == 2);
  CHECK(r.events_by_topic.at("user-commands") == 2);
  CHECK(r.conversations == 1);
  CHECK(r.answered == 1);
  CHECK(r.open == 0);
  CHECK(r.end_to_end.count == 1);
  CHECK(r.per_tool.at("math").count == 1);
  CHECK(r.per_tool.at("math").p50_ms == 4);
}

TEST_CASE("metrics fold: per-role processing time from each event's cause") {
  core::metrics_fold m;
  auto q = ev("a", question("a"), 1000, "eventide/ingress/n1");
  m.apply(q, "user-commands");
  events::plan_generated plan{1, R"({"steps":[]})", "offline", "rule-based", 3};
  auto pg = ev("a", plan, 1004, "eventide/router/n1", q.id);
  m.apply(pg, "conversation-events");
  auto r1 = ev("a", req("a", "s1", "math"), 1005, "eventide/orchestrator/n1", pg.id);
  m.apply(r1, "tool-invocation-requests");
  auto x1 = ev("a", res("a", "s1", "math"), 1009, "eventide/worker-math/n2", r1.id);
  m.apply(x1, "conversation-events");
  auto r2 = ev("a", req("a", "s2", "weather"), 1011, "eventide/orchestrator/n1", x1.id);
  // s2's result is folded before its request (another topic ran ahead): no worker sample.
  m.apply(ev("a", res("a", "s2", "weather"), 1020, "eventide/worker-weather/n2", r2.id),
          "conversation-events");
  m.apply(r2, "tool-invocation-requests");
  // Sources of another shape, or without a cause, are no role samples.
  m.apply(ev("a", events::plan_step_completed{"s1", "ok", 1}, 1012, "eventide/orchestrator", x1.id),
          "conversation-events");
  m.apply(ev("a", events::plan_step_completed{"s2", "ok", 1}, 1021, "eventide/orchestrator/n1"),
          "conversation-events");
  auto r = m.report();
  REQUIRE(r.per_role.size() == 3);
  CHECK(r.per_role.at("router").count == 1);
  CHECK(r.per_role.at("router").p50_ms == 4);
  CHECK(r.per_role.at("orchestrator").count == 2);
  CHECK(r.per_role.at("orchestrator").sum_ms == 3); // 1 + 2
  CHECK(r.per_role.at("orchestrator").max_ms == 2);
  CHECK(r.per_role.at("worker-math").p50_ms == 4);
  CHECK(r.causes_not_in_view.size() == 1);
  CHECK(r.causes_not_in_view.at("worker-weather") == 1);
  CHECK(r.per_tool.at("weather").p50_ms == 9); // the invocation still pairs
}

TEST_CASE("metrics fold forgets old event ids: a cause beyond the bound gives no sample") {
  core::metrics_fold m(0, 2);
  auto q = ev("a", question("a"), 1000);
  m.apply(q, "user-commands");
  m.apply(ev("b", question("b"), 1001), "user-commands");
  m.apply(ev("c", question("c"), 1002), "user-commands"); // "a/query" leaves the recent ids
  m.apply(ev("a", events::plan_generated{1, "{}", "offline", "rule-based", 1}, 1003,
             "eventide/router/n1", q.id),
          "conversation-events");
  auto r = m.report();
  CHECK(r.per_role.empty());
  CHECK(r.causes_not_in_view.at("router") == 1);
}

TEST_CASE("role of an event source") {
  CHECK(core::role_of_source("eventide/router/node-1") == "router");
  CHECK(core::role_of_source("eventide/worker-math/workers-1") == "worker-math");
  CHECK(core::role_of_source("eventide/router") == "");
  CHECK(core::role_of_source("eventide//n") == "");
  CHECK(core::role_of_source("other/router/n") == "");
  CHECK(core::role_of_source("") == "");
}

TEST_CASE("events per second over a trailing window from counter samples") {
  core::rate_window w(10000);
  CHECK(w.per_second().empty());
  w.add(0, {{"a", 0}});
  CHECK(w.per_second().at("a") == 0); // one sample: no rate yet
  w.add(2000, {{"a", 10}, {"b", 4}});
  CHECK(w.per_second().at("a") == 5);
  CHECK(w.per_second().at("b") == 2);
  w.add(4000, {{"a", 30}, {"b", 4}});
  CHECK(w.per_second().at("a") == 7.5);
  CHECK(w.per_second().at("b") == 1);
  // The sample at 0 leaves: the one at 2000 is the newest at or before the window's start.
  w.add(12000, {{"a", 70}, {"b", 4}});
  CHECK(w.per_second().at("a") == 6); // (70 - 10) / 10 s
  CHECK(w.per_second().at("b") == 0);
  w.add(13000, {{"a", 80}, {"b", 4}});
  CHECK(w.per_second().at("a") == Approx(70.0 / 11.0)); // the sample at 2000 stays
  core::rate_window all; // no window: over everything sampled (`eventide stats`)
  all.add(1000, {});
  all.add(3000, {{"a", 8}});
  CHECK(all.per_second().at("a") == 4);
  core::rate_window same_time;
  same_time.add(5, {{"a", 1}});
  same_time.add(5, {{"a", 3}});
  CHECK(same_time.per_second().at("a") == 0);
}

TEST_CASE("metrics report as JSON: one shape for `eventide stats --json` and the role") {
  core::metrics_fold m;
  m.apply(ev("a", question("a"), 1000), "user-commands");
  m.apply(ev("a", req("a", "s1", "math"), 1002), "tool-invocation-requests");
  m.apply(ev("a", res("a", "s1", "math"), 1005), "conversation-events");
  m.apply(ev("a", answer(), 1010), "conversation-events");
  m.dead_letter("synthesis");
  auto d = core::metrics_json(m.report(), {{"router", 0}, {"tool-math", 2}},
                              {{"user-commands", 0.5}});
  std::vector<std::string> keys;
  for (auto& member : d.GetObject())
    keys.emplace_back(member.name.GetString());
  CHECK(keys == std::vector<std::string>{
                  "conversations", "answered", "failed", "open", "endToEnd", "tools", "roles",
                  "causesNotInView", "eventsByType", "eventsByTopic", "eventsPerSecond",
                  "eventsPerSecondByTopic", "toolErrors", "retries", "duplicates", "evicted",
                  "deadLetters", "undecodable", "consumerLag", "firstMs", "lastMs"});
  auto text = json::dump(d);
  CHECK(text.find(R"("endToEnd":{"count":1,"sumMs":10.0,"window":1,"meanMs":10.0,"p50Ms":10.0,)"
                  R"("p95Ms":10.0,"p99Ms":10.0,"maxMs":10.0})")
        != std::string::npos);
  CHECK(text.find(R"("tools":{"math":{"count":1,"sumMs":3.0,)") != std::string::npos);
  CHECK(text.find(R"("eventsByTopic":{"conversation-events":2,"tool-invocation-requests":1,)"
                  R"("user-commands":1})")
        != std::string::npos);
  CHECK(text.find(R"("eventsPerSecondByTopic":{"user-commands":0.5})") != std::string::npos);
  CHECK(text.find(R"("deadLetters":{"synthesis":1})") != std::string::npos);
  CHECK(text.find(R"("consumerLag":{"router":0,"tool-math":2})") != std::string::npos);
  CHECK(text.find(R"("conversations":1,"answered":1,"failed":0,"open":0,)") == 1);
  CHECK(text.find(R"("firstMs":1000,"lastMs":1010})") != std::string::npos);
}
