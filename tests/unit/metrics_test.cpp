#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "core/metrics.hpp"

using namespace eventide;

namespace {

events::event ev(const std::string& conv, events::payload p, int64_t t) {
  events::event e;
  e.id = core::deterministic_id(conv, p);
  e.source = "test";
  e.time_ms = t;
  e.subject = conv;
  e.data = std::move(p);
  return e;
}

} // namespace

TEST_CASE("latency summary uses nearest-rank percentiles") {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i)
    v.push_back(i);
  auto s = core::summarize_latency(v);
  CHECK(s.count == 100);
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
  auto req = [](const char* conv, const char* step, const char* tool, int attempt) {
    return events::tool_invocation_requested{std::string(conv) + "/1/" + step, attempt, step,
                                             tool, "{}", 0};
  };
  auto res = [](const char* conv, const char* step, const char* tool, bool ok, bool retryable) {
    return events::tool_invocation_resulted{std::string(conv) + "/1/" + step, 1, step, tool, ok,
                                            ok ? "{}" : "null", ok ? "" : "x", retryable, 0};
  };
  m.apply(ev("a", events::user_query_received{"a", "u", "q", 0}, 1000), "user-commands");
  m.apply(ev("a", req("a", "s1", "math", 1), 1002), "tool-invocation-requests");
  m.apply(ev("a", res("a", "s1", "math", true, false), 1005), "conversation-events");
  m.apply(ev("a", events::final_answer_synthesized{"A", "offline", "template", {}, false}, 1010),
          "conversation-events");
  // b: a retryable error, a retry, then success: one latency sample from the first request.
  m.apply(ev("b", events::user_query_received{"b", "u", "q", 0}, 2000), "user-commands");
  m.apply(ev("b", req("b", "s1", "weather", 1), 2001), "tool-invocation-requests");
  m.apply(ev("b", res("b", "s1", "weather", false, true), 2003), "conversation-events");
  m.apply(ev("b", req("b", "s1", "weather", 2), 2010), "tool-invocation-requests");
  m.apply(ev("b", res("b", "s1", "weather", true, false), 2021), "conversation-events");
  m.apply(ev("b", events::final_answer_synthesized{"B", "offline", "template", {}, true}, 2030),
          "conversation-events");
  // c: still open.
  m.apply(ev("c", events::user_query_received{"c", "u", "q", 0}, 3000), "user-commands");
  m.dead_letter("router");
  m.dead_letter("router");
  auto r = m.report();
  CHECK(r.conversations == 3);
  CHECK(r.answered == 2);
  CHECK(r.failed == 1);
  CHECK(r.open == 1);
  CHECK(r.end_to_end.count == 2);
  CHECK(r.end_to_end.p50_ms == 10);
  CHECK(r.end_to_end.max_ms == 30);
  CHECK(r.per_tool.at("math").p50_ms == 3);
  CHECK(r.per_tool.at("weather").count == 1);
  CHECK(r.per_tool.at("weather").p50_ms == 20);
  CHECK(r.retries == 1);
  CHECK(r.tool_errors == 1);
  CHECK(r.events_by_type.at("ToolInvocationRequested") == 3);
  CHECK(r.events_by_topic.at("user-commands") == 3);
  CHECK(r.dead_letters_by_group.at("router") == 2);
  CHECK(r.events_per_second == Approx(11.0 / 2.0)); // 11 events over 2 s
}

TEST_CASE("metrics fold pairs a result folded before its request") {
  core::metrics_fold m;
  m.apply(ev("a", events::tool_invocation_resulted{"a/1/s1", 1, "s1", "math", true, "{}", "", false, 0}, 1009),
          "conversation-events");
  m.apply(ev("a", events::tool_invocation_requested{"a/1/s1", 1, "s1", "math", "{}", 0}, 1001),
          "tool-invocation-requests");
  CHECK(m.report().per_tool.at("math").p50_ms == 8);
}
