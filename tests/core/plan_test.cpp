#include <catch2/catch.hpp>

#include "core/plan.hpp"

using namespace eventide::core;

namespace {
std::string plan_error(const std::string& json) {
  auto r = parse_plan(json);
  INFO(json);
  REQUIRE_FALSE(r.ok());
  return r.error();
}
} // namespace

TEST_CASE("plan: the tool catalog", "[plan]") {
  const auto& tools = tool_catalog();
  REQUIRE(tools.size() == 13);
  std::vector<std::string> names;
  for (const auto& t : tools) {
    names.push_back(t.name);
    CHECK_FALSE(t.description.empty());
    CHECK(t.description.find('\n') == std::string::npos);
  }
  CHECK(names == std::vector<std::string>{"getProductInformation", "ragGeneration", "generalChat", "math",
                                          "weather", "exchangeRate", "orchestrationSynthesis",
                                          "placeOrder", "chargePayment", "shipOrder", "cancelOrder",
                                          "refundPayment", "cancelShipment"});
  const tool_spec* fx = find_tool("exchangeRate");
  REQUIRE(fx);
  CHECK(fx->required_args == std::vector<std::string>{"from", "to"});
  CHECK(fx->optional_args == std::vector<std::string>{"amount"});
  CHECK(find_tool("getProductInformation")->optional_args == std::vector<std::string>{"topK"});
  CHECK(find_tool("generalChat")->required_args == std::vector<std::string>{"message"});
  CHECK(find_tool("fly") == nullptr);
}

TEST_CASE("plan: the DESIGN example parses with implied dependencies", "[plan]") {
  auto r = parse_plan(R"({ "steps": [
    { "id": "s1", "tool": "getProductInformation", "args": { "query": "Aurora X1 laptop price" } },
    { "id": "s2", "tool": "exchangeRate",
      "args": { "from": "USD", "to": "EUR", "amount": "{{steps.s1.result.price}}" } },
    { "id": "s3", "tool": "weather", "args": { "city": "Berlin" } } ],
    "finalAnswerRequired": false })");
  REQUIRE(r.ok());
  const auto& p = r.value();
  CHECK_FALSE(p.final_answer_required);
  REQUIRE(p.steps.size() == 3);
  CHECK(p.steps[0].id == "s1");
  CHECK(p.steps[0].tool == "getProductInformation");
  CHECK(p.steps[0].args_json == R"({"query":"Aurora X1 laptop price"})");
  CHECK(p.steps[0].depends_on.empty());
  CHECK(p.steps[1].depends_on == std::vector<std::string>{"s1"});
  CHECK(p.steps[1].args_json == R"({"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"})");
  CHECK(p.steps[2].depends_on.empty());
}

TEST_CASE("plan: explicit dependsOn merges with placeholder references", "[plan]") {
  auto r = parse_plan(R"({"steps":[
    {"id":"a","tool":"math","args":{"expression":"1+1"}},
    {"id":"b","tool":"math","args":{"expression":"2"}},
    {"id":"c-3","tool":"generalChat","args":{"message":"{{step_0.result}} {{b.result}}"},"dependsOn":["b","a"]}]})");
  REQUIRE(r.ok());
  CHECK(r->final_answer_required);
  CHECK(r->steps[2].depends_on == std::vector<std::string>{"b", "a"});
}

TEST_CASE("plan: structural failures", "[plan]") {
  CHECK(plan_error("{").find("plan is not valid JSON") == 0);
  CHECK(plan_error("[]") == "plan must be a JSON object");
  CHECK(plan_error("{}") == "plan: 'steps' must be an array");
  CHECK(plan_error(R"({"steps":[]})") == "plan: 'steps' must not be empty");
  CHECK(plan_error(R"({"steps":[{"id":"a","tool":"math","args":{"expression":"1"}}],"finalAnswerRequired":"yes"})")
        == "plan: 'finalAnswerRequired' must be a boolean");
  std::string many = R"({"steps":[)";
  for (int i = 0; i < 21; ++i)
    many += std::string(i ? "," : "") + R"({"id":"s)" + std::to_string(i) + R"(","tool":"math","args":{"expression":"1"}})";
  many += "]}";
  CHECK(plan_error(many) == "plan: too many steps (21, at most 20)");
  CHECK(plan_error(R"({"steps":[3]})") == "step #1: must be an object");
  CHECK(plan_error(R"({"steps":[{"id":"a","tool":"math","args":{"expression":"1"}}],"reasoning":"x"})")
        == "plan: unknown field 'reasoning'");
  CHECK(plan_error(R"({"steps":[{"id":"a","tool":"math","args":{"expression":"1"},"note":"x"}]})")
        == "step a: unknown field 'note'");
  CHECK(plan_error(R"({"steps":[{"tool":"math","args":{"expression":"1"}}]})") == "step #1: 'id' must be a non-empty string");
  CHECK(plan_error(R"({"steps":[{"id":"","tool":"math","args":{"expression":"1"}}]})") == "step #1: 'id' must be a non-empty string");
  CHECK(plan_error(R"({"steps":[{"id":"a b","tool":"math","args":{"expression":"1"}}]})")
        == "step #1: id 'a b' may only contain letters, digits, '_' and '-'");
  CHECK(plan_error(R"({"steps":[{"id":"s1","args":{"expression":"1"}}]})") == "step s1: 'tool' must be a string");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math"}]})") == "step s1: 'args' must be an object");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"},"dependsOn":"s0"}]})")
        == "step s1: 'dependsOn' must be an array of step ids");
}

TEST_CASE("plan: step ids are at most 64 characters as in the plan schema", "[plan]") {
  // The schemas bound ids with maxLength 64 (std::regex recursion, see codec_test.cpp); a plan
  // parse_plan accepts must also pass the schema (the plan fuzz target checks that).
  auto with_id = [](const std::string& id) {
    return R"({"steps":[{"id":")" + id + R"(","tool":"math","args":{"expression":"1"}}]})";
  };
  CHECK(parse_plan(with_id(std::string(64, 'a'))).ok());
  CHECK(plan_error(with_id(std::string(65, 'a'))) == "step #1: id is longer than 64 characters");
  CHECK(plan_error(with_id(std::string(100000, 'a'))) == "step #1: id is longer than 64 characters");
}

TEST_CASE("plan: rule failures name the step", "[plan]") {
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"}},{"id":"s2","tool":"fly","args":{}}]})")
        == "step s2: unknown tool 'fly'");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"exchangeRate","args":{"from":"USD"}}]})")
        == "step s1: tool 'exchangeRate' requires arg 'to'");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":null}}]})")
        == "step s1: tool 'math' requires arg 'expression'");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1","precision":2}}]})")
        == "step s1: unexpected arg 'precision' for tool 'math'");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"}},{"id":"s1","tool":"math","args":{"expression":"2"}}]})")
        == "step s1: duplicate id");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"}},{"id":"s3","tool":"math","args":{"expression":"2"},"dependsOn":["s9"]}]})")
        == "step s3: depends on unknown step 's9'");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"},"dependsOn":["s1"]}]})")
        == "step s1: depends on itself");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"{{s1.result}}"}}]})")
        == "step s1: depends on itself");
  CHECK(plan_error(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"{{steps.s7.result}}"}}]})")
        == "step s1: placeholder '{{steps.s7.result}}' refers to unknown step 's7'");
}

TEST_CASE("plan: cycles are reported with their path", "[plan]") {
  CHECK(plan_error(R"({"steps":[
    {"id":"s1","tool":"math","args":{"expression":"1"},"dependsOn":["s2"]},
    {"id":"s2","tool":"math","args":{"expression":"{{s1.result}}"}}]})")
        == "cycle: s1 -> s2 -> s1");
  CHECK(plan_error(R"({"steps":[
    {"id":"a","tool":"math","args":{"expression":"1"}},
    {"id":"b","tool":"math","args":{"expression":"1"},"dependsOn":["a","d"]},
    {"id":"c","tool":"math","args":{"expression":"1"},"dependsOn":["b"]},
    {"id":"d","tool":"math","args":{"expression":"1"},"dependsOn":["c"]}]})")
        == "cycle: b -> d -> c -> b");
}
