// One answered conversation as metrics records, shared by the metrics role's helper tests
// (metrics_role_helpers_test.cpp) and its actor test (metrics_role_test.cpp).
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "schemas/codec.hpp"
#include "storage/log.hpp"

namespace eventide::testing {

/// An event of conversation "a" produced by `role` at time `t`, caused by `cause`.
inline events::event metrics_event(events::payload p, int64_t t, const std::string& role,
                                   const std::string& cause = "") {
  events::event e;
  e.id = core::deterministic_id("a", p);
  e.source = "eventide/" + role + "/n1";
  e.time_ms = t;
  e.subject = "a";
  e.causation_id = cause;
  e.data = std::move(p);
  return e;
}

/// The record at `offset` of `partition` of `topic`, key "a" unless given.
inline storage::record raw_record(const std::string& topic, int32_t partition, int64_t offset,
                                  std::string value, std::string key = "a") {
  return {topic, partition_id{partition}, log_offset{offset}, std::move(key), std::move(value),
          0, {}};
}

/// `e` encoded as the record at `offset` of partition 0 of `topic`.
inline storage::record metrics_record(const std::string& topic, int64_t offset,
                                      const events::event& e) {
  auto bytes = events::encode(e);
  INFO(events::type_name(e.data));
  REQUIRE(bytes);
  return raw_record(topic, 0, offset, *bytes);
}

inline const char* metrics_plan = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})";

/// One conversation's records, grouped by partition as a poll returns them: the effects in
/// conversation-events first, then the requests, then the commands that caused most of them.
/// Question at 1000 ms, answer at 1025 ms; router 4 ms, orchestrator 1+1+1 ms (request, step
/// completed, plan completed), worker-math 5 ms, aggregator 9 ms, synthesis 5 ms.
inline std::vector<storage::record> effects_first() {
  auto ev = metrics_event; // short names; no default arguments
  auto rec = metrics_record;
  auto q = ev(events::user_query_received{"a", "u", "What is 1+1?", 1000}, 1000, "ingress", "");
  auto pg = ev(events::plan_generated{1, metrics_plan, "offline", "rule-based", 1}, 1004, "router", q.id);
  auto rq = ev(events::tool_invocation_requested{"a/1/s1", 1, "s1", "math",
                                                 R"({"expression":"1+1"})", 99999},
               1005, "orchestrator", pg.id);
  auto rs = ev(events::tool_invocation_resulted{"a/1/s1", 1, "s1", "math", true,
                                                R"({"value":2})", "", false, 0},
               1010, "worker-math", rq.id);
  auto done = ev(events::plan_step_completed{"s1", "ok", 1}, 1011, "orchestrator", rs.id);
  auto pc = ev(events::plan_completed{1, R"({"s1":{"value":2}})"}, 1011, "orchestrator", rs.id);
  auto sq = ev(events::synthesize_final_answer_requested{"What is 1+1?", 1, metrics_plan,
                                                         R"({"s1":{"value":2}})", "", ""},
               1020, "aggregator", pc.id);
  auto fa = ev(events::final_answer_synthesized{"2", "offline", "template", {}, false}, 1025,
               "synthesis", sq.id);
  return {rec("conversation-events", 0, pg), rec("conversation-events", 1, rs),
          rec("conversation-events", 2, done), rec("conversation-events", 3, pc),
          rec("conversation-events", 4, fa), rec("tool-invocation-requests", 0, rq),
          rec("user-commands", 0, q), rec("user-commands", 1, sq)};
}

} // namespace eventide::testing
