// Approvals and cancellation in the orchestrator's fold (DESIGN §15): a step over the approval
// threshold (or marked by its plan) waits for a person; a submitted decision is checked (is the
// step waiting? may this user decide?) before ApprovalGranted or ApprovalDenied is recorded; no
// decision in time is a denial; a cancelled turn starts nothing new and undoes what was done.
// Every state survives replay and snapshot.
#include "schemas/codec.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

const char* const pricey_order = R"j({"steps":[
  {"id":"s1","tool":"placeOrder","args":{"product":"nimbus-pro","quantity":2}},
  {"id":"s2","tool":"chargePayment","args":{"orderId":"{{steps.s1.result.orderId}}",
    "amount":"{{steps.s1.result.total}}","currency":"{{steps.s1.result.currency}}"}}]})j";

orchestration_policy approval_policy_for_tests() {
  orchestration_policy p;
  p.approval_threshold_usd = 1000;
  p.approval_timeout_ms = 5000;
  p.turn_timeout_ms = 1000; // shorter than the approval timeout: waiting is not a stall
  p.usd_value = [](double amount, const std::string& currency) -> std::optional<double> {
    if (currency == "USD")
      return amount;
    if (currency == "GBP")
      return amount * 1.25;
    return std::nullopt;
  };
  return p;
}

void plan_by(harness& h, const std::string& plan_json, const std::string& user, int64_t t = 0) {
  events::plan_generated g;
  g.plan_json = plan_json;
  g.planner_provider = "offline";
  g.asked_by = user;
  h.feed(g, t);
}

events::event event_of(events::payload p, int64_t t = 0) {
  return events::event{"x", "eventide/test/n1", t, conv, "", "", std::move(p)};
}


// Runs the pricey order until the charge waits for approval (from t = 1100 to 6100).
void run_to_approval(harness& h) {
  plan_by(h, pricey_order, "u1", 1000);
  REQUIRE(h.decide(1000).size() == 1);
  h.feed(ok_result("s1", "placeOrder", R"({"orderId":"o-1","total":3698,"currency":"USD"})"), 1100);
  auto out = h.decide(1100);
  REQUIRE(out.size() == 2); // the approval request, then s1's completion; no charge yet
  const auto& ask = as<events::approval_requested>(out[0]);
  CHECK(ask.step_id == "s2");
  CHECK(ask.tool == "chargePayment");
  CHECK(ask.args_json == R"({"orderId":"o-1","amount":3698,"currency":"USD"})");
  CHECK(ask.reason == "the amount 3698.00 USD is above the approval threshold of 1000.00 USD");
  CHECK(ask.expires_at == 1100 + 5000);
}

} // namespace

TEST_CASE("approval: a charge over the threshold waits, the asker approves, then it runs", "[plan_state][approval]") {
  harness h(approval_policy_for_tests());
  run_to_approval(h);
  CHECK(h.decide(3000).empty()); // waiting for a person is not a stall (turn timeout 1 s)
  CHECK(h.live.next_wakeup() == 1100 + 5000);
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
  auto yes = events::approval_submitted{"s2", true, "u1", "fine"};
  CHECK_FALSE(h.live.refuses(event_of(yes)));
  h.feed(yes, 3100);
  auto out = h.decide(3100);
  REQUIRE(out.size() == 2);
  const auto& granted = as<events::approval_granted>(out[0]);
  CHECK(granted.step_id == "s2");
  CHECK(granted.user_id == "u1");
  CHECK(granted.reason == "fine");
  const auto& charge = as<events::tool_invocation_requested>(out[1]);
  CHECK(charge.invocation_id == "c1/1/s2");
  CHECK(charge.args_json == R"({"orderId":"o-1","amount":3698,"currency":"USD"})");
  // A second decision for the same step is refused.
  CHECK(h.live.refuses(event_of(events::approval_submitted{"s2", false, "u1", ""}))
        == "step s2 of turn 1 was already decided (approved by u1: fine)");
  h.feed(ok_result("s2", "chargePayment", R"({"paymentId":"p-1"})"), 3200);
  out = h.decide(3200);
  REQUIRE(out.size() == 2);
  CHECK(std::holds_alternative<events::plan_completed>(out[1]));
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("approval: a rejection fails the step without running it, and the saga undoes the order", "[plan_state][approval]") {
  harness h(approval_policy_for_tests());
  run_to_approval(h);
  h.feed(events::approval_submitted{"s2", false, "u1", "too much"}, 2000);
  auto out = h.decide(2000);
  REQUIRE(out.size() == 3);
  CHECK(as<events::approval_denied>(out[0]).user_id == "u1");
  const auto& failed = as<events::plan_failed>(out[1]);
  CHECK(failed.failed_step == "s2");
  CHECK(failed.reason == "step s2 (chargePayment) was not run: approval denied by u1: too much");
  CHECK_FALSE(failed.compensation_done);
  CHECK(as<events::tool_invocation_requested>(out[2]).invocation_id == "c1/compensate/s1");
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("approval: no decision by the timeout is a denial, also after a restore", "[plan_state][approval]") {
  harness h(approval_policy_for_tests());
  run_to_approval(h);
  // The timer is the log plus the clock: a fold restored from its snapshot decides the same.
  auto text = h.live.snapshot([](const events::event& e) { return events::encode(e).value(); });
  auto restored = conversation_state::restore(conv, h.policy, text,
                                              [](std::string_view b) { return events::decode(b); });
  REQUIRE(restored.ok());
  CHECK(h.decide(6099).empty());
  auto out = h.decide(6100);
  REQUIRE(out.size() == 3);
  const auto& denied = as<events::approval_denied>(out[0]);
  CHECK(denied.user_id.empty());
  CHECK(denied.reason == "no decision within approval-timeout (5 s)");
  CHECK(as<events::plan_failed>(out[1]).reason
        == "step s2 (chargePayment) was not run: no decision within approval-timeout (5 s)");
  auto again = restored->decide(6100);
  REQUIRE(again.size() == 3);
  CHECK(as<events::approval_denied>(again[0]).reason == denied.reason);
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("approval: decisions that cannot be taken are refused with the reason", "[plan_state][approval]") {
  auto policy = approval_policy_for_tests();
  harness h(policy);
  run_to_approval(h);
  auto refusal = [&](events::payload p, int64_t t = 0) {
    auto why = h.live.refuses(event_of(std::move(p), t));
    REQUIRE(why);
    return *why;
  };
  CHECK(refusal(events::approval_submitted{"s9", true, "u1", ""}) == "no step 's9' in turn 1");
  CHECK(refusal(events::approval_submitted{"s1", true, "u1", ""})
        == "step s1 of turn 1 is not waiting for approval");
  CHECK(refusal(events::approval_submitted{"s2", true, "mallory", ""})
        == "user 'mallory' may not decide: only 'u1', who asked, may (or the configured approvers)");
  // Decisions only the orchestrator records: forged ones change nothing.
  CHECK(refusal(events::approval_granted{"s2", "u1", ""})
        == "ApprovalGranted for step s2 of turn 1, which no accepted approval asked for");
  CHECK(refusal(events::approval_denied{"s2", "", "timeout"}, 6099)
        == "ApprovalDenied for step s2 of turn 1, which no accepted rejection or expired approval asked for");
  CHECK_FALSE(h.live.refuses(event_of(events::approval_denied{"s2", "", "timeout"}, 6100)));
  CHECK(refusal(events::turn_cancelled{"u1", ""})
        == "TurnCancelled of turn 1, which nobody asked to cancel");
  h.feed(events::approval_submitted{"s2", true, "u1", ""}, 2000);
  CHECK(refusal(events::approval_submitted{"s2", false, "u1", ""})
        == "step s2 of turn 1 already has a decision to record");

  // Configured approvers replace the asker.
  policy.approvers = {"alice", "bob"};
  harness a(policy);
  run_to_approval(a);
  CHECK(a.live.refuses(event_of(events::approval_submitted{"s2", true, "u1", ""}))
        == "user 'u1' may not decide (approvers: alice, bob)");
  CHECK_FALSE(a.live.refuses(event_of(events::approval_submitted{"s2", true, "bob", ""})));

  // A turn without a plan, and one that ended.
  conversation_state empty(conv, policy);
  CHECK(empty.refuses(event_of(events::approval_submitted{"s1", true, "u1", ""}))
        == "ApprovalSubmitted of turn 1, which has no plan");
  CHECK(empty.refuses(event_of(events::cancel_requested{"u1", ""}))
        == "CancelRequested of turn 1, which has no plan");
  harness done(approval_policy_for_tests());
  plan_by(done, R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})", "u1");
  REQUIRE(done.decide(0).size() == 1);
  done.feed(ok_result("s1", "math", R"({"value":2})"), 10);
  REQUIRE(done.decide(10).size() == 2);
  CHECK(done.live.refuses(event_of(events::cancel_requested{"u1", ""})) == "turn 1 already ended");
  CHECK(done.live.refuses(event_of(events::approval_submitted{"s1", true, "u1", ""}))
        == "turn 1 already ended");
}

TEST_CASE("approval: a plan may ask for approval of any step, an unknown currency needs one too", "[plan_state][approval]") {
  harness h(approval_policy_for_tests());
  plan_by(h, R"j({"steps":[{"id":"s1","tool":"weather","args":{"city":"Berlin"},"approval":"required"},
    {"id":"s2","tool":"chargePayment","args":{"orderId":"o-1","amount":5,"currency":"XYZ"}},
    {"id":"s3","tool":"chargePayment","args":{"orderId":"o-2","amount":700,"currency":"GBP"}},
    {"id":"s4","tool":"chargePayment","args":{"orderId":"o-3","amount":900,"currency":"GBP"}}]})j", "u1");
  auto out = h.decide(0);
  REQUIRE(out.size() == 4);
  CHECK(as<events::approval_requested>(out[0]).reason == "the plan asks for approval of this step");
  CHECK(as<events::approval_requested>(out[1]).reason == "the amount 5.00 XYZ cannot be valued in USD");
  CHECK(as<events::tool_invocation_requested>(out[2]).step_id == "s3"); // 875 USD: below
  CHECK(as<events::approval_requested>(out[3]).reason
        == "the amount 900.00 GBP (1125.00 USD) is above the approval threshold of 1000.00 USD");
}

TEST_CASE("cancel: a running turn starts nothing new, waits for the effect in flight, then undoes it all", "[plan_state][cancel]") {
  harness h(approval_policy_for_tests());
  plan_by(h, R"j({"steps":[
    {"id":"s1","tool":"placeOrder","args":{"product":"tidal-buds","quantity":2}},
    {"id":"s2","tool":"chargePayment","args":{"orderId":"{{steps.s1.result.orderId}}","amount":258,"currency":"GBP"}},
    {"id":"s3","tool":"shipOrder","args":{"orderId":"{{steps.s1.result.orderId}}","city":"Berlin"},"dependsOn":["s2"]}]})j",
          "u1");
  REQUIRE(h.decide(0).size() == 1);
  h.feed(ok_result("s1", "placeOrder", R"({"orderId":"o-1"})"), 100);
  REQUIRE(h.decide(100).size() == 2); // s2 requested: the charge is in flight
  auto stop = events::cancel_requested{"u1", "changed my mind"};
  CHECK(h.live.refuses(event_of(events::cancel_requested{"mallory", ""}))
        == "user 'mallory' may not decide: only 'u1', who asked, may (or the configured approvers)");
  CHECK_FALSE(h.live.refuses(event_of(stop)));
  h.feed(stop, 200);
  CHECK(h.live.refuses(event_of(events::cancel_requested{"u1", ""}))
        == "turn 1 is already being cancelled");
  auto out = h.decide(200);
  REQUIRE(out.size() == 2);
  CHECK(as<events::turn_cancelled>(out[0]).user_id == "u1");
  const auto& failed = as<events::plan_failed>(out[1]);
  CHECK(failed.reason == "the turn was cancelled by u1: changed my mind");
  CHECK_FALSE(failed.compensation_done); // the charge may still happen
  // The late result is recorded; shipping never starts; the saga refunds, then cancels.
  h.feed(ok_result("s2", "chargePayment", R"({"paymentId":"p-1"})"), 300);
  out = h.decide(300);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate/s2");
  auto refunded = ok_result("s2", "refundPayment", "{}");
  refunded.invocation_id = make_compensation_id(conv, "s2").get();
  h.feed(refunded, 400);
  out = h.decide(400);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate/s1");
  for (auto& e : h.log)
    if (auto r = std::get_if<events::tool_invocation_requested>(&e.data))
      CHECK(r->step_id != "s3");
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("approval: a forged approval request neither holds a step nor changes its args", "[plan_state][approval]") {
  harness h(approval_policy_for_tests());
  plan_by(h, pricey_order, "u1", 1000);
  REQUIRE(h.decide(1000).size() == 1);
  auto forged = [](std::string step, std::string args) {
    return events::approval_requested{1, std::move(step), "chargePayment", std::move(args), "x", 9999};
  };
  // s2 cannot run yet (its order is not placed); s1 needs no approval.
  CHECK(h.live.refuses(event_of(forged("s2", R"({"orderId":"o-1","amount":3698,"currency":"USD"})")))
        == "ApprovalRequested for step s2 of turn 1 with args the step does not have");
  CHECK(h.live.refuses(event_of(forged("s9", "{}"))) == "no step 's9' in turn 1");
  h.feed(ok_result("s1", "placeOrder", R"({"orderId":"o-1","total":3698,"currency":"USD"})"), 1100);
  CHECK(h.live.refuses(event_of(forged("s2", R"({"orderId":"o-1","amount":1,"currency":"USD"})")))
        == "ApprovalRequested for step s2 of turn 1 with args the step does not have");
  CHECK_FALSE(h.live.refuses(event_of(forged("s2", R"({"orderId":"o-1","amount":3698,"currency":"USD"})"))));
  auto out = h.decide(1100); // the real one, with the same args
  REQUIRE(out.size() == 2);
  CHECK(as<events::approval_requested>(out[0]).args_json
        == R"({"orderId":"o-1","amount":3698,"currency":"USD"})");
  CHECK_FALSE(h.live.refuses(event_of(out[0]))); // itself again: a duplicate
  CHECK(h.live.refuses(event_of(forged("s2", R"({"orderId":"o-2","amount":3698,"currency":"USD"})")))
        == "ApprovalRequested for step s2 of turn 1 with other args");
}

TEST_CASE("approval: a fold rebuilt from the log while a step waits for approval equals the live one",
          "[plan_state][approval]") {
  // The live fold marks the step as asked (or granted) when it decides, and then reads its own
  // record back; a fold rebuilt from the log reads only the record. Both must count it as
  // progress at the record's time (found by kafka.hostile: a lost-store replay during a wait).
  harness h(approval_policy_for_tests());
  plan_by(h, pricey_order, "u1", 1000);
  REQUIRE(h.decide(1000).size() == 1);
  h.feed(ok_result("s1", "placeOrder", R"({"orderId":"o-1","total":3698,"currency":"USD"})"), 1100);
  REQUIRE(std::holds_alternative<events::approval_requested>(h.decide(1150).at(0)));
  CHECK(h.replay_digest(h.log) == h.live.digest());
  h.feed(events::approval_submitted{"s2", true, "u1", "fine"}, 3100);
  REQUIRE(std::holds_alternative<events::approval_granted>(h.decide(3150).at(0)));
  CHECK(h.replay_digest(h.log) == h.live.digest());
}
