// Wake hints: what a stored conversation needs without a record, and what going live does with
// it (core/wake_hint.hpp).
#include <catch2/catch.hpp>

#include "core/event_ids.hpp"
#include "core/wake_hint.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using core::go_live_load;

namespace {

const char* one_step = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})";

} // namespace

TEST_CASE("wake hint: encoded and decoded back, bad text refused") {
  core::wake_hint h{int64_t{1765100000123}, 0x9f3a00000000beefull};
  CHECK(core::encode(h) == "9f3a00000000beef/1765100000123");
  auto back = core::decode_wake_hint(core::encode(h));
  REQUIRE(back);
  CHECK(back->at == h.at);
  CHECK(back->policy == h.policy);
  auto none = core::decode_wake_hint(core::encode({std::nullopt, 7}));
  REQUIRE(none);
  CHECK_FALSE(none->at);
  CHECK(none->policy == 7);
  for (const char* bad : {"", "/", "/5", "7", "7/", "7/x", "7/-1", "7/5x", "x7/5", "7/--",
                          "12345678901234567/5"})
    CHECK_FALSE(core::decode_wake_hint(bad));
}

TEST_CASE("wake hint: every policy field that times a decision changes the fingerprint") {
  core::orchestration_policy p;
  const auto base = core::policy_fingerprint(p);
  CHECK(core::policy_fingerprint(p) == base); // the same policy, the same value
  auto changed = [&](auto edit) {
    auto q = p;
    edit(q);
    return core::policy_fingerprint(q) != base;
  };
  using P = core::orchestration_policy;
  CHECK(changed([](P& q) { q.max_attempts += 1; }));
  CHECK(changed([](P& q) { q.max_compensation_attempts += 1; }));
  CHECK(changed([](P& q) { q.step_timeout_ms += 1; }));
  CHECK(changed([](P& q) { q.retry_backoff.base_ms += 1; }));
  CHECK(changed([](P& q) { q.retry_backoff.max_ms += 1; }));
  CHECK(changed([](P& q) { q.retry_backoff.multiplier += 0.5; }));
  CHECK(changed([](P& q) { q.turn_timeout_ms += 1; }));
  CHECK(changed([](P& q) { q.max_plan_revisions += 1; }));
  CHECK(changed([](P& q) { q.approval_threshold_usd += 0.01; }));
  CHECK(changed([](P& q) { q.approval_timeout_ms += 1; }));
  CHECK(changed([](P& q) { q.approvers.push_back("ops"); }));
  CHECK(changed([](P& q) { q.max_tool_invocations += 1; }));
  CHECK(changed([](P& q) { q.max_llm_tokens += 1; }));
  CHECK(changed([](P& q) { q.max_cost_usd += 0.01; }));
  CHECK(changed([](P& q) { q.max_wall_ms += 1; }));
  CHECK(changed([](P& q) { q.usd_per_1k_tokens["m"] = 0.5; }));
  // Lists are delimited: two approvers are not one with the names run together.
  auto ab = p, a_b = p;
  ab.approvers = {"ab"};
  a_b.approvers = {"a", "b"};
  CHECK(core::policy_fingerprint(ab) != core::policy_fingerprint(a_b));
}

TEST_CASE("wake hint: what going live does with a stored conversation") {
  const uint64_t policy = 42;
  const int64_t now = 1'000'000;
  CHECK(core::go_live_action(std::nullopt, policy, now) == go_live_load::now); // no hint
  CHECK(core::go_live_action(core::wake_hint{now + 1, 41}, policy, now) == go_live_load::now);
  CHECK(core::go_live_action(core::wake_hint{now + 1, policy}, policy, now) == go_live_load::at_wake);
  CHECK(core::go_live_action(core::wake_hint{now, policy}, policy, now) == go_live_load::now);
  CHECK(core::go_live_action(core::wake_hint{int64_t{0}, policy}, policy, now) == go_live_load::now);
  CHECK(core::go_live_action(core::wake_hint{std::nullopt, policy}, policy, now)
        == go_live_load::on_record);
}

TEST_CASE("wake hint of a fold: its next wake-up, or at once while a decision is unlogged") {
  core::orchestration_policy policy;
  policy.step_timeout_ms = 5000;
  policy.turn_timeout_ms = 0;
  testing::harness h(policy);
  CHECK_FALSE(core::wake_hint_of(h.live, 9).at); // no plan: only a record wakes it
  CHECK(core::wake_hint_of(h.live, 9).policy == 9);
  h.plan(one_step, 1, 1000);
  auto out = h.live.decide(2000); // s1 requested: unlogged until it comes back from the log
  REQUIRE(out.size() == 1);
  CHECK(core::wake_hint_of(h.live, 9).at == int64_t{0});
  h.live.apply(events::event{core::deterministic_id(testing::conv, out[0]), "eventide/test/n1",
                             2000, testing::conv, "", "", out[0]});
  CHECK(core::wake_hint_of(h.live, 9).at == int64_t{7000}); // the request's deadline
  CHECK(core::wake_hint_of(h.live, 9).at == h.live.next_wakeup());
}
