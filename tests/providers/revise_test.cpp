// The offline reviser (providers/revise.cpp) and the plan that asks for it: a choice by price
// is planned as lookups that then decide, and decided from the observed prices.
#include <catch2/catch.hpp>

#include "providers/planner.hpp"
#include "providers/revise.hpp"

using namespace eventide;
using namespace eventide::providers;

namespace {

planner_context catalog() {
  return load_planner_context(std::string(EVENTIDE_SOURCE_DIR) + "/products");
}

const char* const lookups = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},{"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}}],"finalAnswerRequired":true})";

} // namespace

TEST_CASE("planner: a choice by price looks the products up, then decides", "[planner][agent]") {
  auto plan = plan_offline("Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?", catalog());
  REQUIRE(plan.ok());
  CHECK(*plan == std::string(lookups).substr(0, std::string(lookups).size() - 1) + R"(,"next":"replan"})");
  auto choice = price_choice_of("Which one is more expensive, the Tidal Buds or the Vertex Pulse, and how much is it in EUR?", catalog());
  REQUIRE(choice);
  CHECK_FALSE(choice->cheapest);
  CHECK(choice->currency == "EUR");
  CHECK(choice->products == std::vector<std::string>{"Tidal Buds", "Vertex Pulse"});
  // Without a question about the one chosen, or without a currency: no choice to revise.
  CHECK_FALSE(price_choice_of("Which is cheaper, the Aurora X1 or the Nimbus Pro?", catalog()));
  CHECK_FALSE(price_choice_of("Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one weigh?", catalog()));
}

TEST_CASE("revise_offline: converts the cheaper one, or the prices first when their currencies differ", "[agent]") {
  revision_input in;
  in.question = "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?";
  in.plan_json = lookups;
  in.observations_json = R"({"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},"s2":{"name":"Nimbus Pro","price":1849,"currency":"USD"}})";
  auto r = revise_offline(in, catalog());
  REQUIRE(r.ok());
  CHECK(r->plan_json == R"({"steps":[{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"JPY","amount":"{{steps.s1.result.price}}"}}]})");
  CHECK(r->rationale == "the Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro");
  CHECK(r->provider == "offline");

  SECTION("already in the currency asked for: finish") {
    in.question = "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in USD?";
    auto done = revise_offline(in, catalog());
    REQUIRE(done.ok());
    CHECK(done->plan_json == "null");
    CHECK(done->rationale == "the Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro");
  }
  SECTION("two currencies: convert both, decide again; then the choice is made") {
    in.observations_json = R"({"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},"s2":{"name":"Nimbus Pro","price":999,"currency":"EUR"}})";
    auto first = revise_offline(in, catalog());
    REQUIRE(first.ok());
    CHECK(first->plan_json == R"({"next":"replan","steps":[{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"JPY","amount":"{{steps.s1.result.price}}"}},{"id":"s4","tool":"exchangeRate","args":{"from":"{{steps.s2.result.currency}}","to":"JPY","amount":"{{steps.s2.result.price}}"}}]})");
    CHECK(first->rationale == "the prices are in different currencies (USD, EUR): converting them to JPY to compare");
    in.plan_json = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},{"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}},{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"JPY","amount":"{{steps.s1.result.price}}"}},{"id":"s4","tool":"exchangeRate","args":{"from":"{{steps.s2.result.currency}}","to":"JPY","amount":"{{steps.s2.result.price}}"}}]})";
    in.observations_json = R"({"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},"s2":{"name":"Nimbus Pro","price":999,"currency":"EUR"},"s3":{"converted":194132.98},"s4":{"converted":162287.55}})";
    auto second = revise_offline(in, catalog());
    REQUIRE(second.ok());
    CHECK(second->plan_json == "null");
    CHECK(second->rationale == "the Nimbus Pro is cheaper: 162287.55 JPY (999 EUR) against 194132.98 JPY (1299 USD) for the Aurora X1");
  }
  SECTION("a failed step: offline there is no other way, the turn finishes and says why") {
    in.failed_step = "s2";
    in.reason = "step s2 (getProductInformation) failed after 1 attempt: unknown product";
    auto done = revise_offline(in, catalog());
    REQUIRE(done.ok());
    CHECK(done->plan_json == "null");
    CHECK(done->rationale == "offline there is no other way to get what step s2 was for: step s2 (getProductInformation) failed after 1 attempt: unknown product");
  }
  SECTION("not a choice: nothing more to look up") {
    in.question = "What does the Aurora X1 cost?";
    auto done = revise_offline(in, catalog());
    REQUIRE(done.ok());
    CHECK(done->plan_json == "null");
    CHECK(done->rationale == "nothing more to look up offline");
  }
}

TEST_CASE("orders: buy the cheaper of two products, looked up first, then ordered", "[planner][agent][saga]") {
  auto plan = plan_offline("Buy the cheaper of the Aurora X1 and the Nimbus Pro and ship it to Berlin", catalog());
  REQUIRE(plan.ok());
  CHECK(*plan == std::string(lookups).substr(0, std::string(lookups).size() - 1) + R"(,"next":"replan"})");
  revision_input in;
  in.question = "Buy the cheaper of the Aurora X1 and the Nimbus Pro and ship it to Berlin";
  in.plan_json = lookups;
  in.observations_json = R"({"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},"s2":{"name":"Nimbus Pro","price":1849,"currency":"USD"}})";
  auto r = revise_offline(in, catalog());
  REQUIRE(r.ok());
  CHECK(r->rationale == "the Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro; ordering it");
  CHECK(r->plan_json
        == R"({"steps":[{"id":"s3","tool":"placeOrder","args":{"product":"Aurora X1","quantity":1}},)"
           R"({"id":"s4","tool":"chargePayment","args":{"orderId":"{{steps.s3.result.orderId}}","amount":"{{steps.s3.result.total}}","currency":"{{steps.s3.result.currency}}"}},)"
           R"({"id":"s5","tool":"shipOrder","args":{"orderId":"{{steps.s3.result.orderId}}","city":"Berlin"},"dependsOn":["s4"]}],"finalAnswerRequired":true})");

  SECTION("the dearer one, two of them, paid in another currency") {
    in.question = "Buy 2 of the more expensive of the Kestrel S5 and the Tidal Buds, pay in EUR";
    in.plan_json = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Kestrel S5 price"}},{"id":"s2","tool":"getProductInformation","args":{"query":"Tidal Buds price"}}],"finalAnswerRequired":true})";
    in.observations_json = R"({"s1":{"name":"Kestrel S5","price":649,"currency":"EUR"},"s2":{"name":"Tidal Buds","price":129,"currency":"GBP"}})";
    auto first = revise_offline(in, catalog());
    REQUIRE(first.ok());
    CHECK(first->rationale == "the prices are in different currencies (EUR, GBP): converting them to EUR to compare");
    CHECK(first->plan_json == R"({"steps":[{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s2.result.currency}}","to":"EUR","amount":"{{steps.s2.result.price}}"}}],"finalAnswerRequired":true,"next":"replan"})");
    in.plan_json = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Kestrel S5 price"}},{"id":"s2","tool":"getProductInformation","args":{"query":"Tidal Buds price"}},{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s2.result.currency}}","to":"EUR","amount":"{{steps.s2.result.price}}"}}],"finalAnswerRequired":true})";
    in.observations_json = R"({"s1":{"name":"Kestrel S5","price":649,"currency":"EUR"},"s2":{"name":"Tidal Buds","price":129,"currency":"GBP"},"s3":{"converted":149.13}})";
    auto second = revise_offline(in, catalog());
    REQUIRE(second.ok());
    CHECK(second->rationale == "the Kestrel S5 is more expensive: 649 EUR against 149.13 EUR for the Tidal Buds; ordering it");
    CHECK(second->plan_json.rfind(R"({"steps":[{"id":"s4","tool":"placeOrder","args":{"product":"Kestrel S5","quantity":2}},)", 0) == 0);
  }
}
