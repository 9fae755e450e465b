// Orchestrator snapshots: restore(snapshot(x)) is x, at every phase of a plan.
#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "core/ids.hpp"
#include "core/plan_state.hpp"

using namespace eventide;

namespace {

events::event ev(events::payload p, int64_t t = 1000) {
  events::event e;
  e.id = core::deterministic_id("c", p);
  e.source = "test";
  e.time_ms = t;
  e.subject = "c";
  e.data = std::move(p);
  return e;
}

std::string encode(const events::event& e) {
  auto r = events::encode(e);
  REQUIRE(r);
  return *r;
}

void require_round_trip(const core::conversation_state& s) {
  auto text = s.snapshot(encode);
  auto back = core::conversation_state::restore("c", {}, text, [](std::string_view b) {
    return events::decode(b);
  });
  REQUIRE(back);
  CHECK(back->digest() == s.digest());
  CHECK(back->snapshot(encode) == text);
}

const char* plan = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}},
  {"id":"s2","tool":"math","args":{"expression":"{{steps.s1.result.value}} * 2"}}]})";

events::tool_invocation_resulted result(const char* step, bool ok, int attempt = 1) {
  return {make_invocation_id("c", 1, step).get(), attempt, step, "math", ok,
          ok ? R"({"value":2})" : "null", ok ? "" : "busy", !ok, 3};
}

} // namespace

TEST_CASE("snapshot round trip at every phase of a plan") {
  core::conversation_state s("c");
  require_round_trip(s); // nothing yet

  // A request replayed before its plan is kept and survives the snapshot.
  events::tool_invocation_requested early{make_invocation_id("c", 1, "s1").get(), 1, "s1", "math",
                                          R"({"expression":"1+1"})", 9000};
  s.apply(ev(early));
  require_round_trip(s);

  s.apply(ev(events::plan_generated{1, plan, "p", "m", 0}));
  require_round_trip(s);
  auto out = s.decide(2000);
  require_round_trip(s);

  s.apply(ev(result("s1", false), 2100)); // retryable error: backoff pending
  require_round_trip(s);
  s.decide(100000);
  s.apply(ev(result("s1", true, 2), 100100));
  s.decide(100200);
  require_round_trip(s);
  s.apply(ev(result("s2", true), 100300));
  auto final_events = s.decide(100400);
  REQUIRE(s.finished());
  require_round_trip(s);
}

TEST_CASE("a restored fold decides exactly what the original would") {
  core::conversation_state live("c");
  live.apply(ev(events::plan_generated{1, plan, "p", "m", 0}));
  live.decide(2000);
  live.apply(ev(result("s1", true), 2100));
  auto restored = core::conversation_state::restore(
    "c", {}, live.snapshot(encode), [](std::string_view b) { return events::decode(b); });
  REQUIRE(restored);
  auto a = live.decide(2200);
  auto b = restored->decide(2200);
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() == 2); // request s2 with the resolved value, completion of s1
  CHECK(std::get<events::tool_invocation_requested>(a[0]).args_json
        == std::get<events::tool_invocation_requested>(b[0]).args_json);
  CHECK(live.digest() == restored->digest());
}

TEST_CASE("an invalid plan snapshots as failed and bad snapshots are rejected") {
  core::conversation_state s("c");
  s.apply(ev(events::plan_generated{1, R"({"steps":[{"id":"a","tool":"fly","args":{}}]})", "p", "m", 0}));
  REQUIRE(s.status() == core::plan_status::failed);
  require_round_trip(s);
  auto dec = [](std::string_view b) { return events::decode(b); };
  CHECK_FALSE(core::conversation_state::restore("c", {}, "not json", dec));
  CHECK_FALSE(core::conversation_state::restore("c", {}, R"({"v":2})", dec));
  auto r = core::conversation_state::restore("c", {}, R"({"v":1,"status":"running"})", dec);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "snapshot of c: bad or missing plan fields");
}
