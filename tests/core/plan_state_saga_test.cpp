// Sagas in the orchestrator's fold (DESIGN §15): a turn that fails after effects undoes each
// succeeded effect step in reverse completion order, one compensation at a time, each with its
// own deterministic invocation id, then records PlanCompensated or CompensationFailed.
// Compensations are never compensated; every state survives replay and snapshot.
#include "schemas/codec.hpp"
#include "tests/core/plan_state_fixture.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

const char* const order_plan = R"j({"steps":[
  {"id":"s1","tool":"placeOrder","args":{"product":"tidal-buds","quantity":2}},
  {"id":"s2","tool":"chargePayment","args":{"orderId":"{{steps.s1.result.orderId}}",
    "amount":"{{steps.s1.result.total}}","currency":"{{steps.s1.result.currency}}"}},
  {"id":"s3","tool":"shipOrder","args":{"orderId":"{{steps.s1.result.orderId}}","city":"Atlantis"},
    "dependsOn":["s2"]}]})j";

const char* const order_o1 = R"({"orderId":"o-1","total":258,"currency":"GBP","status":"placed"})";
const char* const payment_p1 = R"({"paymentId":"p-1","orderId":"o-1","amount":258,"status":"charged"})";

// No approvals in the way: every amount is worth itself, far below the threshold.
orchestration_policy saga_policy() {
  orchestration_policy p;
  p.approval_threshold_usd = 1e12;
  p.usd_value = [](double amount, const std::string&) { return std::optional<double>(amount); };
  return p;
}

std::string undo_id(const std::string& step) { return make_compensation_id(conv, step).get(); }

events::tool_invocation_resulted undo_result(const std::string& step, const std::string& tool,
                                             const std::string& result, int attempt = 1) {
  auto r = ok_result(step, tool, result, attempt);
  r.invocation_id = undo_id(step);
  return r;
}

events::tool_invocation_resulted undo_error(const std::string& step, const std::string& tool,
                                            const std::string& error, bool retryable,
                                            int attempt = 1) {
  auto r = error_result(step, tool, error, retryable, attempt);
  r.invocation_id = undo_id(step);
  return r;
}


// Runs the order plan until s3 (shipOrder) is requested; s1 and s2 succeeded.
void run_to_shipping(harness& h) {
  h.plan(order_plan);
  REQUIRE(h.decide(1000).size() == 1);
  h.feed(ok_result("s1", "placeOrder", order_o1), 1100);
  auto out = h.decide(1100);
  REQUIRE(out.size() == 2);
  CHECK(as<events::tool_invocation_requested>(out[0]).args_json // then s1's completion
        == R"({"orderId":"o-1","amount":258,"currency":"GBP"})");
  h.feed(ok_result("s2", "chargePayment", payment_p1), 1200);
  REQUIRE(h.decide(1200).size() == 2); // s2 completed, s3 requested
}

} // namespace

TEST_CASE("saga: an order that fails at shipping is refunded, then cancelled, and says so", "[plan_state][saga]") {
  harness h(saga_policy());
  run_to_shipping(h);
  h.feed(error_result("s3", "shipOrder", "no_shipping: no shipping to Atlantis", false, 1), 1300);
  auto out = h.decide(1300);
  REQUIRE(out.size() == 3);
  CHECK(as<events::plan_step_completed>(out[0]).step_id == "s3");
  const auto& failed = as<events::plan_failed>(out[1]);
  CHECK(failed.failed_step == "s3");
  CHECK(failed.reason == "step s3 (shipOrder) failed after 1 attempt: no_shipping: no shipping to Atlantis");
  CHECK_FALSE(failed.compensation_done);
  // The latest effect first: the payment, with args read from its own result.
  const auto& refund = as<events::tool_invocation_requested>(out[2]);
  CHECK(refund.invocation_id == "c1/compensate/s2");
  CHECK(refund.step_id == "s2");
  CHECK(refund.tool == "refundPayment");
  CHECK(refund.args_json == R"({"paymentId":"p-1"})");
  CHECK(refund.attempt == 1);
  CHECK(h.live.finished());
  CHECK(h.live.saga_pending());
  CHECK_FALSE(h.live.settled());
  CHECK(h.decide(1400).empty()); // one compensation at a time
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());

  h.feed(undo_result("s2", "refundPayment", R"({"paymentId":"p-1","status":"refunded"})"), 1500);
  out = h.decide(1500);
  REQUIRE(out.size() == 1);
  const auto& cancel = as<events::tool_invocation_requested>(out[0]);
  CHECK(cancel.invocation_id == "c1/compensate/s1");
  CHECK(cancel.tool == "cancelOrder");
  CHECK(cancel.args_json == R"({"orderId":"o-1"})");

  h.feed(undo_result("s1", "cancelOrder", R"({"orderId":"o-1","status":"cancelled"})"), 1600);
  out = h.decide(1600);
  REQUIRE(out.size() == 1);
  const auto& done = as<events::plan_compensated>(out[0]);
  CHECK(done.plan_version == 1);
  CHECK(done.compensations_json
        == R"([{"stepId":"s2","tool":"chargePayment","compensation":"refundPayment","invocationId":"c1/compensate/s2","status":"done","result":{"paymentId":"p-1","status":"refunded"}},)"
           R"({"stepId":"s1","tool":"placeOrder","compensation":"cancelOrder","invocationId":"c1/compensate/s1","status":"done","result":{"orderId":"o-1","status":"cancelled"}}])");
  CHECK(h.live.settled());
  CHECK(h.decide(900000).empty()); // a compensation is never compensated; nothing more to do
  CHECK_FALSE(h.live.next_wakeup());
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("saga: parallel branches are undone in reverse completion order, after the effect still in flight", "[plan_state][saga]") {
  harness h(saga_policy());
  h.plan(R"j({"steps":[
    {"id":"a1","tool":"placeOrder","args":{"product":"aurora-x1","quantity":1}},
    {"id":"b1","tool":"placeOrder","args":{"product":"nimbus-pro","quantity":1}},
    {"id":"a2","tool":"chargePayment","args":{"orderId":"{{steps.a1.result.orderId}}","amount":1299,"currency":"USD"}},
    {"id":"b2","tool":"chargePayment","args":{"orderId":"{{steps.b1.result.orderId}}","amount":1849,"currency":"USD"}}]})j");
  REQUIRE(h.decide(1000).size() == 2);
  h.feed(ok_result("b1", "placeOrder", R"({"orderId":"o-2"})"), 1100); // b1 completes first
  h.feed(ok_result("a1", "placeOrder", R"({"orderId":"o-1"})"), 1150);
  REQUIRE(h.decide(1200).size() == 4); // a1, b1 completed; a2, b2 requested
  // b2 is declined while a2 (an effect) is still in flight.
  h.feed(error_result("b2", "chargePayment", "card_declined: over the limit", false, 1), 1300);
  auto out = h.decide(1300);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_failed>(out[1]).failed_step == "b2");
  CHECK_FALSE(as<events::plan_failed>(out[1]).compensation_done);
  CHECK(h.decide(1400).empty()); // the saga waits: a2 may still charge the card
  CHECK(h.live.next_wakeup() == 1200 + 30000); // a2's deadline
  h.feed(ok_result("a2", "chargePayment", R"({"paymentId":"p-1"})"), 1500);
  out = h.decide(1500);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate/a2");
  h.feed(undo_result("a2", "refundPayment", "{}"), 1600);
  out = h.decide(1600);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate/a1");
  CHECK(as<events::tool_invocation_requested>(out[0]).args_json == R"({"orderId":"o-1"})");
  h.feed(undo_result("a1", "cancelOrder", "{}"), 1700);
  out = h.decide(1700);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate/b1");
  CHECK(as<events::tool_invocation_requested>(out[0]).args_json == R"({"orderId":"o-2"})");
  h.feed(undo_result("b1", "cancelOrder", "{}"), 1800);
  out = h.decide(1800);
  REQUIRE(out.size() == 1);
  CHECK(std::holds_alternative<events::plan_compensated>(out[0]));
  CHECK(h.replay_digest(h.log) == h.live.digest());
}

TEST_CASE("saga: a compensation retried after a transient error, one failing for good stops the saga with what is left", "[plan_state][saga]") {
  harness h(saga_policy());
  run_to_shipping(h);
  h.feed(error_result("s3", "shipOrder", "no_shipping: no shipping to Atlantis", false, 1), 1300);
  REQUIRE(h.decide(1300).size() == 3);
  h.feed(undo_error("s2", "refundPayment", "shop unreachable", true, 1), 1400);
  CHECK(h.decide(1400).empty()); // backoff
  auto wake = h.live.next_wakeup();
  REQUIRE(wake);
  CHECK(*wake > 1400);
  auto out = h.decide(*wake);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate/s2");
  CHECK(as<events::tool_invocation_requested>(out[0]).attempt == 2);
  h.feed(undo_error("s2", "refundPayment", "payment p-1 is disputed", false, 2), *wake + 10);
  out = h.decide(*wake + 10);
  REQUIRE(out.size() == 1);
  const auto& left = as<events::compensation_failed>(out[0]);
  CHECK(left.failed_step == "s2");
  CHECK(left.error == "compensation refundPayment of step s2 failed: payment p-1 is disputed");
  CHECK(left.compensations_json
        == R"([{"stepId":"s2","tool":"chargePayment","compensation":"refundPayment","invocationId":"c1/compensate/s2","status":"failed","error":"payment p-1 is disputed"},)"
           R"({"stepId":"s1","tool":"placeOrder","compensation":"cancelOrder","invocationId":"c1/compensate/s1","status":"not_run"}])");
  CHECK_FALSE(h.live.saga_pending());
  CHECK_FALSE(h.live.settled()); // kept (not compacted) for an operator's retry
  CHECK(h.decide(900000).empty());
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("saga: an effect that never answers is asked again, then listed as unknown", "[plan_state][saga]") {
  orchestration_policy p = saga_policy();
  p.max_attempts = 2;
  p.step_timeout_ms = 1000;
  harness h(p);
  h.plan(R"j({"steps":[
    {"id":"s1","tool":"placeOrder","args":{"product":"aurora-x1","quantity":1}},
    {"id":"s2","tool":"placeOrder","args":{"product":"bogus","quantity":1}}]})j");
  REQUIRE(h.decide(0).size() == 2);
  h.feed(error_result("s2", "placeOrder", "unknown_product: unknown product 'bogus'", false, 1), 100);
  auto out = h.decide(100);
  REQUIRE(out.size() == 2);
  CHECK_FALSE(as<events::plan_failed>(out[1]).compensation_done); // s1 may have ordered
  out = h.decide(1000); // s1 overdue: asked again with the same invocation id
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/1/s1");
  CHECK(as<events::tool_invocation_requested>(out[0]).attempt == 2);
  out = h.decide(2000);
  REQUIRE(out.size() == 1);
  const auto& left = as<events::compensation_failed>(out[0]);
  CHECK(left.failed_step == "s1");
  CHECK(left.error == "no result after 2 attempts: whether its effect happened is not known");
  CHECK(left.compensations_json
        == R"([{"stepId":"s1","tool":"placeOrder","compensation":"cancelOrder","invocationId":"c1/compensate/s1","status":"unknown","error":"no result after 2 attempts: whether its effect happened is not known"}])");
  CHECK_FALSE(h.live.settled()); // kept for an operator
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}

TEST_CASE("saga: a failure without effects, or a completed order, needs no saga", "[plan_state][saga]") {
  harness failed(saga_policy());
  failed.plan(order_plan);
  REQUIRE(failed.decide(0).size() == 1);
  failed.feed(error_result("s1", "placeOrder", "out_of_stock: only 1 left", false, 1), 100);
  auto out = failed.decide(100);
  REQUIRE(out.size() == 2);
  CHECK(as<events::plan_failed>(out[1]).compensation_done);
  CHECK(failed.live.settled());

  harness ok(saga_policy());
  run_to_shipping(ok);
  ok.feed(ok_result("s3", "shipOrder", R"({"shipmentId":"s-1"})"), 1300);
  out = ok.decide(1300);
  REQUIRE(out.size() == 2);
  CHECK(std::holds_alternative<events::plan_completed>(out[1]));
  CHECK(ok.live.settled());
}

TEST_CASE("saga: compensations from the catalog or named by the plan, and the refusals", "[plan][saga]") {
  auto p = parse_plan(order_plan);
  REQUIRE(p.ok());
  CHECK(p->steps[0].compensation_tool == "cancelOrder");
  CHECK(p->steps[0].compensation_args_json == R"({"orderId":"{{steps.s1.result.orderId}}"})");
  CHECK(p->steps[1].compensation_tool == "refundPayment");
  CHECK(p->steps[2].compensation_tool == "cancelShipment");
  CHECK(p->steps[2].depends_on == std::vector<std::string>{"s2", "s1"}); // the compensation adds none

  auto named = parse_plan(R"j({"steps":[{"id":"s1","tool":"placeOrder",
    "args":{"product":"tidal-buds","quantity":1},"approval":"required",
    "compensation":{"tool":"cancelOrder","args":{"orderId":"{{steps.s1.result.orderId}}"}}}]})j");
  REQUIRE(named.ok());
  CHECK(named->steps[0].approval_required);

  auto error = [](const std::string& json) {
    auto r = parse_plan(json);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  CHECK(error(R"j({"steps":[{"id":"s1","tool":"placeOrder","args":{"product":"x","quantity":1},
    "compensation":{"tool":"unplaceOrder","args":{}}}]})j")
        == "step s1: compensation: unknown tool 'unplaceOrder'");
  CHECK(error(R"j({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"},
    "compensation":{"tool":"cancelOrder","args":{"orderId":"o-1"}}}]})j")
        == "step s1: compensation given for tool 'math', which has no effect to undo");
  CHECK(error(R"j({"steps":[{"id":"s1","tool":"cancelOrder","args":{"orderId":"o-1"},
    "compensation":{"tool":"placeOrder","args":{"product":"x","quantity":1}}}]})j")
        == "step s1: compensation: 'placeOrder' does not undo anything");
  CHECK(error(R"j({"steps":[{"id":"s1","tool":"placeOrder","args":{"product":"x","quantity":1},
    "compensation":{"tool":"cancelOrder","args":{"paymentId":"p"}}}]})j")
        == "step s1: compensation: tool 'cancelOrder' requires arg 'orderId'");
  CHECK(error(R"j({"steps":[{"id":"s1","tool":"placeOrder","args":{"product":"x","quantity":1},
    "compensation":{"tool":"cancelOrder","args":{"orderId":"{{steps.s9.result.orderId}}"}}}]})j")
            .rfind("step s1: compensation: ", 0) == 0);
  CHECK(error(R"j({"steps":[{"id":"s1","tool":"placeOrder","args":{"product":"x","quantity":1},
    "approval":"never"}]})j") == "step s1: 'approval' must be \"required\"");
}

TEST_CASE("saga: an operator's retry undoes what is left under new invocation ids", "[plan_state][saga]") {
  harness h(saga_policy());
  run_to_shipping(h);
  h.feed(error_result("s3", "shipOrder", "no_shipping: no shipping to Atlantis", false, 1), 1300);
  REQUIRE(h.decide(1300).size() == 3);
  h.feed(undo_error("s2", "refundPayment", "payment p-1 is disputed", false, 1), 1400);
  auto out = h.decide(1400);
  REQUIRE(out.size() == 1);
  CHECK(as<events::compensation_failed>(out[0]).round == 0);
  auto again = events::event{"r", "eventide/test", 1500, conv, "", "",
                             events::compensation_retry_requested{"ops", "dispute settled"}};
  // Only a stopped saga can be retried; the one asked about is.
  conversation_state none(conv, saga_policy());
  CHECK(none.refuses(again) == "CompensationRetryRequested of turn 1, which has no plan");
  CHECK_FALSE(h.live.refuses(again));
  h.feed(events::compensation_retry_requested{"ops", "dispute settled"}, 1500);
  CHECK(h.live.refuses(again) == "turn 1 has no saga that stopped with effects left");
  out = h.decide(1500);
  REQUIRE(out.size() == 1);
  const auto& refund = as<events::tool_invocation_requested>(out[0]);
  CHECK(refund.invocation_id == "c1/compensate-1/s2"); // a new key for the shop
  CHECK(refund.attempt == 1);
  // A late answer of the first round changes nothing.
  h.feed(undo_result("s2", "refundPayment", "{}", 2), 1550);
  CHECK(h.decide(1550).empty());
  auto ok = ok_result("s2", "refundPayment", R"({"paymentId":"p-1","status":"refunded"})");
  ok.invocation_id = "c1/compensate-1/s2";
  h.feed(ok, 1600);
  out = h.decide(1600);
  REQUIRE(out.size() == 1);
  CHECK(as<events::tool_invocation_requested>(out[0]).invocation_id == "c1/compensate-1/s1");
  auto cancelled = ok_result("s1", "cancelOrder", "{}");
  cancelled.invocation_id = "c1/compensate-1/s1";
  h.feed(cancelled, 1700);
  out = h.decide(1700);
  REQUIRE(out.size() == 1);
  const auto& done = as<events::plan_compensated>(out[0]);
  CHECK(done.round == 1);
  CHECK(done.compensations_json.find(R"("invocationId":"c1/compensate-1/s2","status":"done")")
        != std::string::npos);
  CHECK(h.live.settled());
  CHECK(h.replay_digest(h.log) == h.live.digest());
  CHECK(snapshot_digest(h.live, h.policy) == h.live.digest());
}
