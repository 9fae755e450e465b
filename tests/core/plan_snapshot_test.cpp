// Orchestrator snapshots: restore(snapshot(x)) is x, at every phase of a plan.
#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "model/ids.hpp"
#include "core/plan_state.hpp"
#include "schemas/codec.hpp"

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

TEST_CASE("unlogged decisions: kept until read back, made again only by another session") {
  auto decode = [](std::string_view b) { return events::decode(b); };
  core::conversation_state s("c", {}, "run-1");
  s.apply(ev(events::plan_generated{1, plan, "p", "m", 0}));
  auto out = s.decide(2000);
  REQUIRE(out.size() == 1); // s1's request
  const auto request_id = core::deterministic_id("c", out[0]);
  CHECK(s.unlogged_ids() == std::vector<std::string>{request_id});
  auto text = s.snapshot(encode);

  // The same run (a conversation back from its snapshot): still on its way, never repeated.
  auto same = core::conversation_state::restore("c", {}, text, decode, "run-1");
  REQUIRE(same);
  CHECK(same->decide(2000).empty());
  CHECK(same->unlogged_ids() == std::vector<std::string>{request_id});

  // Another run after the log was replayed: what is still unlogged never reached the log.
  auto next = core::conversation_state::restore("c", {}, text, decode, "run-2");
  REQUIRE(next);
  auto again = next->decide(2000);
  REQUIRE(again.size() == 1);
  CHECK(core::deterministic_id("c", again[0]) == request_id);
  CHECK(std::get<events::tool_invocation_requested>(again[0]).args_json
        == std::get<events::tool_invocation_requested>(out[0]).args_json);
  CHECK(next->decide(2000).empty()); // once

  // Read back from the log: nothing is repeated by a later run.
  auto replayed = core::conversation_state::restore("c", {}, text, decode, "run-2");
  REQUIRE(replayed);
  replayed->apply(ev(out[0]));
  CHECK(replayed->unlogged_ids().empty());
  CHECK(replayed->decide(2000).empty());

  // The plan's end in the log drops whatever else is unlogged (a superseded attempt), and the
  // conversation is settled only then.
  s.apply(ev(result("s1", true)));
  auto done = s.decide(3000); // s2's request, s1's completion
  REQUIRE(done.size() == 2);

  // Three decisions on their way (s1's request was never read back here): each comes back
  // from the snapshot as itself, and a snapshot taken again (their texts encoded once, in the
  // first) is the same text.
  const auto on_their_way = s.unlogged_ids();
  REQUIRE(on_their_way.size() == 3);
  auto several = s.snapshot(encode);
  CHECK(s.snapshot(encode) == several);
  auto other = core::conversation_state::restore("c", {}, several, decode, "run-3");
  REQUIRE(other);
  CHECK(other->unlogged_ids() == on_their_way);
  auto repeated = other->decide(3000);
  REQUIRE(repeated.size() == 3);
  for (size_t i = 0; i < repeated.size(); ++i)
    CHECK(core::deterministic_id("c", repeated[i]) == on_their_way[i]);
  s.apply(ev(result("s2", true)));
  auto end = s.decide(4000);
  REQUIRE(!end.empty());
  CHECK(std::holds_alternative<events::plan_completed>(end.back()));
  CHECK(s.finished());
  CHECK_FALSE(s.settled());
  s.apply(ev(end.back()));
  CHECK(s.settled());
  CHECK(s.unlogged_ids().empty());
}
