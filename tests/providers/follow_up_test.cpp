// Follow-up resolution: each follow-up becomes the standalone question the planner plans.
#include <catch2/catch.hpp>

#include "providers/follow_up.hpp"

using namespace eventide::providers;

namespace {

const planner_context& bundled() {
  static const planner_context ctx =
    load_planner_context(std::string(EVENTIDE_SOURCE_DIR) + "/products");
  return ctx;
}

std::string resolved(const std::string& q, const std::string& previous) {
  auto r = resolve_follow_up(q, previous, bundled());
  return r ? *r : "(stands alone)";
}

} // namespace

TEST_CASE("follow-ups: currency, product, city, quantity, discount, pronoun", "[follow_up]") {
  const std::string price = "What does the Aurora X1 cost in EUR?";
  CHECK(resolved("and in GBP?", price) == "What does the Aurora X1 cost in GBP?");
  CHECK(resolved("what about in yen?", "What does the Aurora X1 cost?")
        == "What does the Aurora X1 cost in JPY?");
  CHECK(resolved("what about the Nimbus Pro?", price) == "What does the Nimbus Pro cost in EUR?");
  CHECK(resolved("and in Rome?", "What's the weather in Berlin?") == "What's the weather in Rome?");
  CHECK(resolved("for 3 of them?", price) == "What does the Aurora X1 cost in EUR for 3 of them?");
  CHECK(resolved("with 10% off?", "What does the Aurora X1 cost in EUR for 3 of them")
        == "What does the Aurora X1 cost in EUR for 3 of them with 10% off?");
  CHECK(resolved("is it cheaper than the Nimbus Pro?", price)
        == "is the Aurora X1 cheaper than the Nimbus Pro?");
}

TEST_CASE("follow-ups: what the catalog lacks stays as written, questions that stand alone stay", "[follow_up]") {
  const std::string price = "What does the Aurora X1 cost?";
  // Never replaced by a catalog product: the planner then says it is unknown.
  CHECK(resolved("what about the Galaxy Buds?", price) == "What does the Galaxy Buds cost?");
  CHECK(resolved("What is the weather in Paris?", price) == "(stands alone)");
  CHECK(resolved("hello there", price) == "(stands alone)");
  CHECK(resolved("and in GBP?", "") == "(stands alone)"); // nothing to lean on
  CHECK(resolved("what about the Nimbus Pro?", "What's the weather in Berlin?") == "(stands alone)");
}

TEST_CASE("follow-ups plan what the conversation means", "[follow_up]") {
  // Turn 1, then "and in GBP?", then "for 3 of them?": each plan uses the resolved question.
  std::string turn = "What does the Aurora X1 cost?";
  for (auto follow_up : {"and in GBP?", "for 3 of them?"}) {
    auto r = resolve_follow_up(follow_up, turn, bundled());
    REQUIRE(r);
    turn = *r;
  }
  CHECK(turn == "What does the Aurora X1 cost in GBP for 3 of them?");
  auto plan = plan_offline(turn, bundled());
  REQUIRE(plan);
  CHECK(*plan
        == R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
           R"({"id":"s2","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"GBP","amount":"{{steps.s1.result.price}}"}},)"
           R"({"id":"s3","tool":"math","args":{"expression":"{{steps.s2.result.converted}} * 3"}}],"finalAnswerRequired":true})");
}
