// Agents that act, end to end on the embedded log (issue 16, DESIGN §15): orders placed by the
// offline planner run against the in-process shop, and a turn that fails after effects undoes
// them in reverse order. Effects are counted where they happen: in the shop's own store, read
// after the pipeline has stopped, never in what the workers wrote.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/json.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/shop_store.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

std::vector<std::string> invocations_of(const conversation_trace& t) {
  std::vector<std::string> out;
  for (auto& e : t.tool_requests)
    if (auto r = std::get_if<events::tool_invocation_requested>(&e.data))
      out.push_back(r->invocation_id.substr(t.id.size() + 1) + " " + r->tool);
  return out;
}

} // namespace

TEST_CASE("e2e: an order is placed, paid and shipped, once each, in the shop's own store", "[saga]") {
  temp_dir dir;
  {
    node_options opts;
    opts.providers.provider_concurrency = {{"shop", 1}}; // the shop tools wait for their limit
    pipeline p{dir.path, opts};
    auto t = p.ask("buy", "Order 2 Tidal Buds and ship them to Berlin");
    auto health = json::parse(p.health());
    REQUIRE(health.ok());
    const auto* shop_limit = json::find_path(*health, "limits");
    REQUIRE(shop_limit);
    CHECK(json::get_int((*shop_limit)["shop"], "granted") == 3);
    CHECK(json::get_int((*shop_limit)["shop"], "maxInFlight") == 1);
    INFO(t.answer()->answer);
    CHECK(t.answer()->answer.rfind(
            "Done: ordered 2 x Tidal Buds (order o-1, 258 GBP); charged 258 GBP (payment p-1); "
            "booked shipping of order o-1 to Berlin (shipment s-1).\n", 0) == 0);
    CHECK(invocations_of(t) == std::vector<std::string>{"1/s1 placeOrder", "1/s2 chargePayment",
                                                        "1/s3 shipOrder"});
    CHECK(t.count("PlanCompleted") == 1);
    CHECK(t.count("PlanCompensated") == 0);
    CHECK(t.divergent_repeats().empty());
  }
  auto shop = read_shop(dir.path);
  CHECK(shop.effects == std::vector<std::string>{"order_placed buy/1/s1", "payment_charged buy/1/s2",
                                                 "shipment_booked buy/1/s3"});
  CHECK(shop.stock["tidal-buds"] == 40 - 2);
}

TEST_CASE("e2e: an order that cannot be shipped is refunded, then cancelled, and the stock is back", "[saga]") {
  temp_dir dir;
  {
    pipeline p{dir.path};
    auto t = p.ask("far", "Order 2 Tidal Buds, pay in EUR and ship them to Atlantis");
    INFO(t.answer()->answer);
    // config/exchange-rates.json: 1 GBP = 1.15607 EUR (258 GBP = 298.27 EUR).
    CHECK(t.answer()->answer.rfind(
            "I could not complete this request: step s4 (shipOrder) failed after 1 attempt: "
            "no_shipping: no shipping to Atlantis. Done before that: ordered 2 x Tidal Buds "
            "(order o-1, 258 GBP); charged 298.27 EUR (payment p-1). Undone: refunded payment p-1 "
            "(298.27 EUR); cancelled order o-1 (items back in stock).\n", 0) == 0);
    // Reverse completion order; the exchange has nothing to undo; a compensation is never
    // compensated.
    CHECK(invocations_of(t) == std::vector<std::string>{
            "1/s1 placeOrder", "1/s2 exchangeRate", "1/s3 chargePayment", "1/s4 shipOrder",
            "compensate/s3 refundPayment", "compensate/s1 cancelOrder"});
    CHECK(t.count("PlanFailed") == 1);
    CHECK(t.count("PlanCompensated") == 1);
    CHECK(t.count("CompensationFailed") == 0);
    CHECK(t.count("FinalAnswerSynthesized") == 1);
    for (auto& e : t.conversation_events)
      if (auto f = std::get_if<events::plan_failed>(&e.data))
        CHECK_FALSE(f->compensation_done);
    CHECK(t.divergent_repeats().empty());
  }
  auto shop = read_shop(dir.path);
  CHECK(shop.effects == std::vector<std::string>{
          "order_placed far/1/s1", "payment_charged far/1/s3", "payment_refunded far/compensate/s3",
          "order_cancelled far/compensate/s1"});
  CHECK(shop.stock["tidal-buds"] == 40);
}

TEST_CASE("e2e: a declined card cancels the order it was for", "[saga]") {
  temp_dir dir;
  {
    node_options opts;
    opts.policy.approval_threshold_usd = 1e9; // no approval: the card decides
    pipeline p{dir.path, opts};
    // 2 x 1849 USD is over the default card limit of 2000 USD.
    auto t = p.ask("dear", "Buy 2 Nimbus Pro");
    INFO(t.answer()->answer);
    CHECK(t.answer()->answer.rfind(
            "I could not complete this request: step s2 (chargePayment) failed after 1 attempt: "
            "card_declined: card declined: 3698.00 USD is over the limit of 2000.00 USD. Done before "
            "that: ordered 2 x Nimbus Pro (order o-1, 3698 USD). Undone: cancelled order o-1 (items "
            "back in stock).\n", 0) == 0);
    CHECK(t.count("PlanCompensated") == 1);
  }
  auto shop = read_shop(dir.path);
  CHECK(shop.effects == std::vector<std::string>{"order_placed dear/1/s1",
                                                 "order_cancelled dear/compensate/s1"});
  CHECK(shop.stock["nimbus-pro"] == 3);
}

TEST_CASE("e2e: an unknown product or a negative quantity is refused by the shop, nothing to undo", "[saga]") {
  temp_dir dir;
  {
    pipeline p{dir.path};
    auto neg = p.ask("neg", "Order -2 Tidal Buds");
    INFO(neg.answer()->answer);
    CHECK(neg.answer()->answer.rfind("I could not complete this request: step s1 (placeOrder) "
                                     "failed after 1 attempt: bad_request: ", 0) == 0);
    CHECK(neg.count("PlanCompensated") == 0);
    for (auto& e : neg.conversation_events)
      if (auto f = std::get_if<events::plan_failed>(&e.data))
        CHECK(f->compensation_done);
  }
  auto shop = read_shop(dir.path);
  CHECK(shop.effects.empty());
  CHECK(shop.stock["tidal-buds"] == 40);
}

TEST_CASE("e2e: buy the cheaper of two, shipped: the prices decide what is ordered", "[saga][agent]") {
  temp_dir dir;
  {
    node_options opts;
    opts.policy.approval_threshold_usd = 1e9; // no approval in the way
    pipeline p{dir.path, opts};
    auto t = p.ask("pick", "Buy the cheaper of the Aurora X1 and the Nimbus Pro and ship it to Berlin");
    INFO(t.answer()->answer);
    CHECK(t.answer()->answer.rfind(
            "The Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro; ordering it. "
            "Done: ordered 1 x Aurora X1 (order o-1, 1299 USD); charged 1299 USD (payment p-1); "
            "booked shipping of order o-1 to Berlin (shipment s-1).\n", 0) == 0);
    CHECK(invocations_of(t) == std::vector<std::string>{
            "1/s1 getProductInformation", "1/s2 getProductInformation", "2/s3 placeOrder",
            "2/s4 chargePayment", "2/s5 shipOrder"});
  }
  auto shop = read_shop(dir.path);
  CHECK(shop.effects == std::vector<std::string>{"order_placed pick/2/s3", "payment_charged pick/2/s4",
                                                 "shipment_booked pick/2/s5"});
  CHECK(shop.stock["aurora-x1"] == 12 - 1);
  CHECK(shop.stock["nimbus-pro"] == 3);
}
