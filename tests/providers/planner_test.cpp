// The offline rule-based planner: exact plans (compared as JSON) for each supported phrasing,
// all of which must pass core::parse_plan.
// Every check_plan case here (56 calls plus 18 from the weather-sample loop: 74) is mirrored in
// the first 74 "tune" items of tests/fixtures/planner_labelled.json, which planner_eval_test.cpp
// scores; add or remove a case in both places.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "providers/planner.hpp"

using namespace eventide;
using namespace eventide::providers;

namespace {

// The bundled catalog's vocabulary (names, brands, categories, description words), as the
// router loads it.
const planner_context& catalog() {
  static const planner_context ctx = load_planner_context(std::string(EVENTIDE_SOURCE_DIR) + "/products");
  return ctx;
}

// Wraps steps in the plan object every plan has.
std::string plan_of(const std::string& steps) {
  return R"({"steps":[)" + steps + R"(],"finalAnswerRequired":true})";
}

void check_plan(const std::string& query, const std::string& expected) {
  INFO("query: " << query);
  auto plan = plan_offline(query, catalog());
  REQUIRE(plan.ok());
  INFO("plan: " << *plan);
  auto valid = core::parse_plan(*plan);
  INFO("parse_plan: " << (valid ? std::string("ok") : valid.error()));
  CHECK(valid.ok());
  auto got = json::parse(*plan);
  auto want = json::parse(expected);
  REQUIRE(got.ok());
  REQUIRE(want.ok());
  CHECK(static_cast<const json::value&>(*got) == static_cast<const json::value&>(*want));
}

const std::string aurora_price =
    R"({"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}})";

std::string to_eur(const std::string& id, const std::string& from) {
  return R"({"id":")" + id + R"(","tool":"exchangeRate","args":{"from":"{{steps.)" + from
         + R"(.result.currency}}","to":"EUR","amount":"{{steps.)" + from + R"(.result.price}}"}})";
}

std::string math(const std::string& id, const std::string& expression) {
  return R"({"id":")" + id + R"(","tool":"math","args":{"expression":")" + expression + R"("}})";
}

std::string weather(const std::string& id, const std::string& city) {
  return R"({"id":")" + id + R"(","tool":"weather","args":{"city":")" + city + R"("}})";
}

std::string exchange(const std::string& id, const std::string& from, const std::string& to, const std::string& amount) {
  return R"({"id":")" + id + R"(","tool":"exchangeRate","args":{"from":")" + from + R"(","to":")" + to
         + R"(","amount":)" + amount + "}}";
}

std::string chat(const std::string& message) {
  return plan_of(R"({"id":"s1","tool":"generalChat","args":{"message":")" + message + R"("}})");
}

std::string retrieve_then_answer(const std::string& question) {
  return plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":")" + question + R"("}},)"
                 R"({"id":"s2","tool":"ragGeneration","args":{"query":")" + question
                 + R"(","context":"{{steps.s1.result.chunks}}"}})");
}

std::string comparison(const std::string& question, const std::string& query_a, const std::string& query_b) {
  return plan_of(
      R"({"id":"s1","tool":"getProductInformation","args":{"query":")" + query_a + R"(","topK":3}},)"
      R"({"id":"s2","tool":"getProductInformation","args":{"query":")" + query_b + R"(","topK":3}},)"
      R"({"id":"s3","tool":"ragGeneration","args":{"query":")" + question + R"(","context":[)"
      R"("{{steps.s1.result.chunks[0]}}","{{steps.s1.result.chunks[1]}}","{{steps.s1.result.chunks[2]}}",)"
      R"("{{steps.s2.result.chunks[0]}}","{{steps.s2.result.chunks[1]}}","{{steps.s2.result.chunks[2]}}"]}})");
}

} // namespace

TEST_CASE("planner: arithmetic questions become one math step", "[planner]") {
  check_plan("What is 15% of 240 plus 3^2?", plan_of(math("s1", "15/100*240 + 3^2")));
  check_plan("calculate (12+8)*3", plan_of(math("s1", "(12+8)*3")));
  check_plan("what's 2 to the power of 10", plan_of(math("s1", "2 ^ 10")));
  check_plan("What is the square root of 144 plus 5 squared?", plan_of(math("s1", "sqrt(144) + 5^2")));
  check_plan("What is the sum of 3 and 4?", plan_of(math("s1", "3 + 4")));
  check_plan("What is 7% of 1,250?", plan_of(math("s1", "7/100*1250")));
  check_plan("Compute 10 divided by 4 minus 1", plan_of(math("s1", "10 / 4 - 1")));
  check_plan("what is 6 times 7", plan_of(math("s1", "6 * 7")));
  check_plan("What is 10 % 3?", plan_of(math("s1", "10 % 3")));
  check_plan("What's 200 plus 5%?", plan_of(math("s1", "200 + (5/100)")));
}

TEST_CASE("planner: product price, conversion and adjustments", "[planner]") {
  check_plan("How much does the Aurora X1 cost?", plan_of(aurora_price));
  check_plan("what's the price of the aurora x1", plan_of(aurora_price));
  check_plan("What does the Aurora X1 cost in euros?", plan_of(aurora_price + "," + to_eur("s2", "s1")));
  check_plan("What does the Aurora X1 cost in EUR?", plan_of(aurora_price + "," + to_eur("s2", "s1")));
  check_plan("How much is the Aurora X1 in EUR including 19% VAT?",
             plan_of(aurora_price + "," + to_eur("s2", "s1") + ","
                     + math("s3", "{{steps.s2.result.converted}} * 1.19")));
  check_plan("How much are 3 Aurora X1 in EUR?",
             plan_of(aurora_price + "," + to_eur("s2", "s1") + ","
                     + math("s3", "{{steps.s2.result.converted}} * 3")));
  check_plan("What's the Aurora X1 price in euros times 3?",
             plan_of(aurora_price + "," + to_eur("s2", "s1") + ","
                     + math("s3", "{{steps.s2.result.converted}} * 3")));
  check_plan("How much is the Aurora X1 for 3 units?",
             plan_of(aurora_price + "," + math("s2", "{{steps.s1.result.price}} * 3")));
  check_plan("What is the Aurora X1 price in euros with a 10% discount?",
             plan_of(aurora_price + "," + to_eur("s2", "s1") + ","
                     + math("s3", "{{steps.s2.result.converted}} * 0.9")));
  check_plan("How much is the Aurora X1 in EUR for 2 units with a 10% discount including 19% VAT?",
             plan_of(aurora_price + "," + to_eur("s2", "s1") + ","
                     + math("s3", "{{steps.s2.result.converted}} * 2 * 0.9 * 1.19")));
  // A unique capitalized first word names the product.
  check_plan("How much is the Kestrel in dollars?",
             plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":"Kestrel S5 price"}},)"
                     R"({"id":"s2","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}",)"
                     R"("to":"USD","amount":"{{steps.s1.result.price}}"}})"));
  // Two products, prices only: two parallel lookups.
  check_plan("How much do the Aurora X1 and the Nimbus Pro cost?",
             plan_of(aurora_price + R"(,{"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}})"));
}

TEST_CASE("planner: a product the catalog lacks is looked up as written, never as another", "[planner]") {
  auto price_of = [](const std::string& name) {
    return R"({"id":"s1","tool":"getProductInformation","args":{"query":")" + name + R"( price"}})";
  };
  // "X2" is a model, not a quantity: no math step, and not the Aurora X1.
  check_plan("How much does the Aurora X2 cost?", plan_of(price_of("Aurora X2")));
  check_plan("how much is the aurora x2", plan_of(price_of("aurora x2")));
  check_plan("How much is the Nimbus Max?", plan_of(price_of("Nimbus Max")));
  check_plan("How much do the Tidal Buds 3 cost?", plan_of(price_of("Tidal Buds 3")));
  check_plan("What does the Zephyr Phone 9 cost in euros?",
             plan_of(price_of("Zephyr Phone 9") + "," + to_eur("s2", "s1")));
  check_plan("Tell me about the Aurora X2", retrieve_then_answer("Tell me about the Aurora X2"));
  // After a known name, "x2" is still a quantity.
  check_plan("How much is the Aurora X1 x2?",
             plan_of(aurora_price + "," + math("s2", "{{steps.s1.result.price}} * 2")));
}

TEST_CASE("planner: quantities written as words", "[planner]") {
  auto times = [](const std::string& q, const std::string& factor) {
    check_plan(q, plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":"Tidal Buds price"}},)"
                          + math("s2", "{{steps.s1.result.price}} * " + factor)));
  };
  times("How much do two Tidal Buds cost?", "2");
  times("What do twelve Tidal Buds cost?", "12");
  times("How much for a pair of Tidal Buds?", "2");
  times("How much for a dozen Tidal Buds?", "12");
  times("How much are two dozen Tidal Buds?", "24");
  times("Price of half a dozen Tidal Buds", "6");
  times("I want to buy three Tidal Buds", "3");
  times("How much are 3 pairs of Tidal Buds?", "3");
  times("Tidal Buds price times four", "4");
  check_plan("How much are two Aurora X1 in EUR?",
             plan_of(aurora_price + "," + to_eur("s2", "s1") + ","
                     + math("s3", "{{steps.s2.result.converted}} * 2")));
  // One is no multiplication, and "a couple" does not say how many.
  check_plan("How much does one Aurora X1 cost?", plan_of(aurora_price));
  check_plan("How much do a couple of Aurora X1 cost?", plan_of(aurora_price));
}

TEST_CASE("planner: a currency it has no name for is passed on as written", "[planner]") {
  check_plan("Convert 100 XYZ to EUR", plan_of(exchange("s1", "XYZ", "EUR", "100")));
  check_plan("How much is 100 doubloons in dollars?", plan_of(exchange("s1", "doubloons", "USD", "100")));
  check_plan("convert 50 euros to doubloons", plan_of(exchange("s1", "EUR", "doubloons", "50")));
  check_plan("What's the XYZ exchange rate?", plan_of(exchange("s1", "XYZ", "USD", "1")));
  check_plan("What does the Aurora X1 cost in XYZ?",
             plan_of(aurora_price + R"(,{"id":"s2","tool":"exchangeRate","args":{"from":)"
                                    R"("{{steps.s1.result.currency}}","to":"XYZ","amount":"{{steps.s1.result.price}}"}})"));
  check_plan("What does the Aurora X1 cost in doubloons?",
             plan_of(aurora_price + R"(,{"id":"s2","tool":"exchangeRate","args":{"from":)"
                                    R"("{{steps.s1.result.currency}}","to":"doubloons","amount":"{{steps.s1.result.price}}"}})"));
  check_plan("How much does the Aurora X1 cost in stores?", plan_of(aurora_price));
  check_plan("How much storage does the Aurora X1 have in gigabytes?",
             retrieve_then_answer("How much storage does the Aurora X1 have in gigabytes?"));
  // Acronyms, capitals and counted things are not currencies.
  check_plan("convert 100 USD to EUR for my CEO", plan_of(exchange("s1", "USD", "EUR", "100")));
  check_plan("HOW MUCH IS THE AURORA X1 IN EUR?", plan_of(aurora_price + "," + to_eur("s2", "s1")));
  check_plan("What does the Aurora X1 cost in USA?", plan_of(aurora_price));
  check_plan("How much are 100 units in EUR?", chat("How much are 100 units in EUR?"));
}

TEST_CASE("planner: independent lookups run in parallel", "[planner]") {
  check_plan("What's the weather in Berlin and the USD to EUR rate?",
             plan_of(weather("s1", "Berlin") + "," + exchange("s2", "USD", "EUR", "1")));
  check_plan("weather in Paris and Tokyo", plan_of(weather("s1", "Paris") + "," + weather("s2", "Tokyo")));
  check_plan("convert 250 GBP to USD", plan_of(exchange("s1", "GBP", "USD", "250")));
  check_plan("How many yen is 100 dollars?", plan_of(exchange("s1", "USD", "JPY", "100")));
  check_plan("€50 in dollars", plan_of(exchange("s1", "EUR", "USD", "50")));
  check_plan("What's the euro exchange rate?", plan_of(exchange("s1", "EUR", "USD", "1")));
  check_plan("convert 1,000.50 swiss francs to pounds", plan_of(exchange("s1", "CHF", "GBP", "1000.5")));
  check_plan("convert 100 USD to EUR and GBP",
             plan_of(exchange("s1", "USD", "EUR", "100") + "," + exchange("s2", "USD", "GBP", "100")));
  check_plan("Is it raining in London?", plan_of(weather("s1", "London")));
  check_plan("How warm is it in new york?", plan_of(weather("s1", "New York")));
  check_plan("What's the weather in Oslo and Reykjavik tomorrow?",
             plan_of(R"({"id":"s1","tool":"weather","args":{"city":"Oslo","date":"tomorrow"}},)"
                     R"({"id":"s2","tool":"weather","args":{"city":"Reykjavik","date":"tomorrow"}})"));
  check_plan("What's the weather in Berlin and what is 2+2?",
             plan_of(weather("s1", "Berlin") + "," + math("s2", "2+2")));
  check_plan("What's the USD to EUR rate and the weather in Rome?",
             plan_of(exchange("s1", "USD", "EUR", "1") + "," + weather("s2", "Rome")));
}

TEST_CASE("planner: comparisons retrieve each product, then answer or subtract", "[planner]") {
  check_plan("Compare the Aurora X1 and the Nimbus Pro",
             comparison("Compare the Aurora X1 and the Nimbus Pro", "Aurora X1", "Nimbus Pro"));
  check_plan("Which has better battery life, Aurora X1 or Nimbus Pro?",
             comparison("Which has better battery life, Aurora X1 or Nimbus Pro?",
                        "Aurora X1 battery life", "Nimbus Pro battery life"));
  check_plan("Tell me about the Tidal Buds and the Zephyr Phone 8",
             comparison("Tell me about the Tidal Buds and the Zephyr Phone 8", "Tidal Buds", "Zephyr Phone 8"));
  check_plan(
      "How much more expensive is the Nimbus Pro than the Inkwell Paper?",
      plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}},)"
              R"({"id":"s2","tool":"getProductInformation","args":{"query":"Inkwell Paper price"}},)"
              R"({"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s2.result.currency}}",)"
              R"("to":"{{steps.s1.result.currency}}","amount":"{{steps.s2.result.price}}"}},)"
              + math("s4", "{{steps.s1.result.price}} - {{steps.s3.result.converted}}")));
  check_plan(
      "What is the price difference between the Aurora X1 and the Nimbus Pro in EUR?",
      plan_of(aurora_price + R"(,{"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}},)"
              + to_eur("s3", "s1") + "," + to_eur("s4", "s2") + ","
              + math("s5", "{{steps.s3.result.converted}} - {{steps.s4.result.converted}}")));
}

TEST_CASE("planner: other product questions retrieve then answer", "[planner]") {
  check_plan("What is the battery life of the Aurora X1?",
             retrieve_then_answer("What is the battery life of the Aurora X1?"));
  check_plan("Does the Nimbus Pro have a warranty?", retrieve_then_answer("Does the Nimbus Pro have a warranty?"));
  // "pounds" of weight is not a currency, "how much battery" is not a price.
  check_plan("How many pounds does the Aurora X1 weigh?",
             retrieve_then_answer("How many pounds does the Aurora X1 weigh?"));
  check_plan("How much battery life does the Tidal Buds have?",
             retrieve_then_answer("How much battery life does the Tidal Buds have?"));
  // Summaries of one product already end in a written answer.
  check_plan("Summarize the Aurora X1", retrieve_then_answer("Summarize the Aurora X1"));
  // No product named: retrieval over the whole catalog.
  check_plan("Which laptop has the longest battery?",
             plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":"Which laptop has the longest battery?","topK":5}},)"
                     R"({"id":"s2","tool":"ragGeneration","args":{"query":"Which laptop has the longest battery?",)"
                     R"("context":"{{steps.s1.result.chunks}}"}})"));
}

TEST_CASE("planner: summaries add a synthesis step over every result", "[planner]") {
  check_plan("Give me a summary of the weather in Paris and Tokyo",
             plan_of(weather("s1", "Paris") + "," + weather("s2", "Tokyo")
                     + R"(,{"id":"s3","tool":"orchestrationSynthesis","args":{)"
                       R"("query":"Give me a summary of the weather in Paris and Tokyo",)"
                       R"("results":["{{steps.s1.result}}","{{steps.s2.result}}"]}})"));
  check_plan("Give me an overview of the weather in Berlin and the USD to EUR rate",
             plan_of(weather("s1", "Berlin") + "," + exchange("s2", "USD", "EUR", "1")
                     + R"(,{"id":"s3","tool":"orchestrationSynthesis","args":{)"
                       R"("query":"Give me an overview of the weather in Berlin and the USD to EUR rate",)"
                       R"("results":["{{steps.s1.result}}","{{steps.s2.result}}"]}})"));
}

TEST_CASE("planner: everything else is general chat", "[planner]") {
  check_plan("Hello there!", chat("Hello there!"));
  check_plan("What is the capital of France?", chat("What is the capital of France?"));
  check_plan("What's the weather like?", chat("What's the weather like?"));
  check_plan("  Tell me a joke  ", chat("Tell me a joke"));
  check_plan("What is 42?", chat("What is 42?"));
}

TEST_CASE("planner: an empty question is refused", "[planner]") {
  for (const char* q : {"", "   ", "\n\t "}) {
    auto p = plan_offline(q, catalog());
    REQUIRE_FALSE(p.ok());
    CHECK(p.error() == "empty question");
  }
}

TEST_CASE("planner: product names match longest first and case-insensitively", "[planner]") {
  planner_context ctx{{"Aurora X1", "Aurora X1 Max"}};
  auto p = plan_offline("how much is the AURORA X1 MAX?", ctx);
  REQUIRE(p.ok());
  auto doc = json::parse(*p);
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["steps"][0]["args"]["query"].GetString()) == "Aurora X1 Max price");
  // An ambiguous first word names nothing.
  auto vague = plan_offline("How much is the Aurora?", ctx);
  REQUIRE(vague.ok());
  CHECK(vague->find("generalChat") != std::string::npos);
}

TEST_CASE("planner: every city of the weather sample is recognized", "[planner]") {
  std::ifstream in(std::string(EVENTIDE_SOURCE_DIR) + "/config/weather-sample.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = json::parse(text);
  REQUIRE(doc.ok());
  for (auto& c : (*doc)["cities"].GetObject()) {
    std::string city = c.name.GetString();
    std::string lower_city = city;
    for (auto& ch : lower_city)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    check_plan("what's the weather in " + lower_city + "?", plan_of(weather("s1", city)));
  }
}

TEST_CASE("load_product_names reads front matter names, sorted", "[planner]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / "eventide-planner-products";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "b.md") << "---\nid: b\nname: Nimbus Pro\nprice: 1\n---\n# Nimbus Pro\nname: not this\n";
  std::ofstream(dir / "a.md") << "---\nid: a\nname: \"Aurora X1\"\n---\nbody\n";
  std::ofstream(dir / "README.md") << "---\nname: Not A Product\n---\n";
  std::ofstream(dir / "no-front-matter.md") << "# Title\nname: Nope\n";
  std::ofstream(dir / "name-after-front-matter.md") << "---\nid: c\n---\nname: Nope\n";
  std::ofstream(dir / "notes.txt") << "---\nname: Text File\n---\n";
  CHECK(load_product_names(dir.string()) == std::vector<std::string>{"Aurora X1", "Nimbus Pro"});
  fs::remove_all(dir);
  CHECK(load_product_names("/nonexistent/products").empty());

  auto bundled = load_product_names(std::string(EVENTIDE_SOURCE_DIR) + "/products");
  CHECK(std::find(bundled.begin(), bundled.end(), "Aurora X1") != bundled.end());
  CHECK(std::find(bundled.begin(), bundled.end(), "Nimbus Pro") != bundled.end());
  CHECK(std::is_sorted(bundled.begin(), bundled.end()));
}

TEST_CASE("planner: repeated entities are looked up once, oversized plans are refused", "[planner]") {
  check_plan("weather in Paris, Tokyo and paris", plan_of(weather("s1", "Paris") + "," + weather("s2", "Tokyo")));
  check_plan("convert 100 USD to EUR and 100 USD to EUR", plan_of(exchange("s1", "USD", "EUR", "100")));

  std::string many = "What is the weather in Berlin";
  for (int i = 0; i < 25; ++i)
    many += " and Town" + std::string(1, static_cast<char>('A' + i));
  auto refused = plan_offline(many, catalog());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().rfind("cannot plan this question offline: ", 0) == 0);

  // Beyond the rule parser's length limit a question goes to chat unchanged.
  std::string long_question(1001, 'a');
  check_plan(long_question, chat(long_question));
}

TEST_CASE("load_planner_context: the vocabulary is the catalog's, not the bundled one", "[planner]") {
  auto outdoor = load_planner_context(std::string(EVENTIDE_FIXTURES) + "/catalogs/outdoor");
  CHECK(outdoor.product_names.size() == 10);
  auto has = [](const std::vector<std::string>& list, const std::string& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
  };
  CHECK(has(outdoor.categories, "e-bike"));
  CHECK(has(outdoor.categories, "rain jacket"));
  CHECK(has(outdoor.brands, "Voltway"));
  CHECK(has(outdoor.description_words, "camping"));
  CHECK(has(outdoor.attributes, "range"));
  CHECK(std::is_sorted(outdoor.description_words.begin(), outdoor.description_words.end()));
  CHECK_FALSE(has(outdoor.categories, "laptop"));
  CHECK(load_planner_context("/nonexistent/products").product_names.empty());

  // A product described, not named: looked up by its description.
  auto described = plan_offline("what does the folding e-bike cost?", outdoor);
  REQUIRE(described.ok());
  CHECK(*described == plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":"folding e-bike price"}})"));
  // A need in the catalog's words: a search over the catalog, then a grounded answer.
  std::string camping = "what should I take camping in the rain?";
  auto need = plan_offline(camping, outdoor);
  REQUIRE(need.ok());
  CHECK(*need == plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":")" + camping
                         + R"(","topK":5}},{"id":"s2","tool":"ragGeneration","args":{"query":")"
                         + camping + R"(","context":"{{steps.s1.result.chunks}}"}})"));
  // "How much" about a fact the catalog states is not a price.
  std::string range = "How much range does the Voltway Fold have?";
  auto fact = plan_offline(range, outdoor);
  REQUIRE(fact.ok());
  CHECK(*fact == plan_of(R"({"id":"s1","tool":"getProductInformation","args":{"query":")" + range
                         + R"("}},{"id":"s2","tool":"ragGeneration","args":{"query":")" + range
                         + R"(","context":"{{steps.s1.result.chunks}}"}})"));
  // A capitalized name the catalog lacks is never looked up by its other words; a question in
  // capitals tells no names apart.
  auto foreign = plan_offline("What does the Brompton e-bike cost?", outdoor);
  REQUIRE(foreign.ok());
  CHECK(foreign->find("generalChat") != std::string::npos);
  auto shouted = plan_offline("WHAT DOES THE FOLDING E-BIKE COST?", outdoor);
  REQUIRE(shouted.ok());
  CHECK(shouted->find("getProductInformation") != std::string::npos);
  // The bundled catalog sells no bikes: the same price question is small talk there.
  auto bundled = plan_offline("what does the folding e-bike cost?", catalog());
  REQUIRE(bundled.ok());
  CHECK(bundled->find("generalChat") != std::string::npos);
}
