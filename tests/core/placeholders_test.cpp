#include <catch2/catch.hpp>

#include "core/placeholders.hpp"

using namespace eventide::core;

namespace {
const std::vector<std::string> ids = {"s1", "s2", "s3"};
const std::map<std::string, std::string> results = {
    {"s1", R"({"name":"Aurora X1","price":1299.5,"tags":["laptop","14in"],"stock":{"eu":3}})"},
    {"s2", R"("plain text")"},
    {"s3", R"([10,20,30])"},
};

std::string resolve(const std::string& args) {
  auto r = resolve_placeholders(args, results, ids);
  INFO(args << " -> " << (r ? r.value() : r.error()));
  REQUIRE(r.ok());
  return r.value();
}
std::string resolve_error(const std::string& args, const std::map<std::string, std::string>& res = results) {
  auto r = resolve_placeholders(args, res, ids);
  INFO(args);
  REQUIRE_FALSE(r.ok());
  return r.error();
}
} // namespace

TEST_CASE("placeholders: whole-string placeholders keep the JSON type", "[placeholders]") {
  CHECK(resolve(R"({"amount":"{{steps.s1.result.price}}"})") == R"({"amount":1299.5})");
  CHECK(resolve(R"({"p":"{{steps.s1.result}}"})")
        == R"({"p":{"name":"Aurora X1","price":1299.5,"tags":["laptop","14in"],"stock":{"eu":3}}})");
  CHECK(resolve(R"({"t":"{{steps.s1.result.tags}}"})") == R"({"t":["laptop","14in"]})");
  CHECK(resolve(R"({"t":"{{ steps.s1.result.tags[1] }}"})") == R"({"t":"14in"})");
  CHECK(resolve(R"({"t":"{{steps.s1.result.tags.0}}"})") == R"({"t":"laptop"})");
  CHECK(resolve(R"({"n":"{{steps.s1.result.stock.eu}}"})") == R"({"n":3})");
  CHECK(resolve(R"({"n":"{{steps.s3.result[2]}}"})") == R"({"n":30})");
  CHECK(resolve(R"({"s":"{{steps.s2.result}}"})") == R"({"s":"plain text"})");
}

TEST_CASE("placeholders: LLM spellings", "[placeholders]") {
  CHECK(resolve(R"({"a":"{{s1.result.price}}"})") == R"({"a":1299.5})");
  CHECK(resolve(R"({"a":"{{step_0.result.price}}"})") == R"({"a":1299.5})");
  CHECK(resolve(R"({"a":"{{step_2.result[0]}}"})") == R"({"a":10})");
  CHECK(resolve(R"({"a":"{{step1.result}}"})") == R"({"a":"plain text"})");
  // An id that really is "step_1" wins over the index reading.
  auto r = resolve_placeholders(R"({"a":"{{step_1.result}}"})", {{"step_1", "7"}, {"x", "8"}},
                                {"x", "step_1"});
  REQUIRE(r.ok());
  CHECK(r.value() == R"({"a":7})");
}

TEST_CASE("placeholders: embedded placeholders render as text", "[placeholders]") {
  CHECK(resolve(R"({"q":"Price {{steps.s1.result.price}} of {{s1.result.name}}!"})")
        == R"({"q":"Price 1299.5 of Aurora X1!"})");
  CHECK(resolve(R"({"q":"tags={{s1.result.tags}}"})") == R"({"q":"tags=[\"laptop\",\"14in\"]"})");
  CHECK(resolve(R"({"q":"n={{s1.result.stock.eu}}"})") == R"({"q":"n=3"})");
}

TEST_CASE("placeholders: nested args and untouched text", "[placeholders]") {
  CHECK(resolve(R"({"a":{"b":["{{s3.result[1]}}",{"c":"{{s1.result.name}}"}]},"n":5,"z":null})")
        == R"({"a":{"b":[20,{"c":"Aurora X1"}]},"n":5,"z":null})");
  // No "{{" at all: returned byte for byte (spacing preserved).
  CHECK(resolve(R"({ "message" : "hello" })") == R"({ "message" : "hello" })");
  // Braces that are not step references are prose and stay as they are.
  CHECK(resolve(R"({"m":"Hi {{name}} and {{user.name}} x","k":"{{s1.result.price}}"})")
        == R"({"m":"Hi {{name}} and {{user.name}} x","k":1299.5})");
  CHECK(resolve(R"({"m":"unterminated {{s1.result"})") == R"({"m":"unterminated {{s1.result"})");
  // Keys are never substituted.
  CHECK(resolve(R"({"{{s1.result}}":"x"})") == R"({"{{s1.result}}":"x"})");
}

TEST_CASE("placeholders: errors", "[placeholders]") {
  CHECK(resolve_error(R"({"a":"{{steps.s9.result}}"})")
        == "placeholder '{{steps.s9.result}}' refers to unknown step 's9'");
  CHECK(resolve_error(R"({"a":"{{step_7.result}}"})")
        == "placeholder '{{step_7.result}}' refers to unknown step 'step_7'");
  CHECK(resolve_error(R"({"a":"{{steps.s1.result}}"})", {})
        == "placeholder '{{steps.s1.result}}': step 's1' has no result yet");
  CHECK(resolve_error(R"({"a":"x {{steps.s1.result.price.amount}}"})")
        == "placeholder '{{steps.s1.result.price.amount}}': path 'price.amount' not found in result of step 's1'");
  CHECK(resolve_error(R"({"a":"{{s3.result[5]}}"})")
        == "placeholder '{{s3.result[5]}}': path '[5]' not found in result of step 's3'");
  CHECK(resolve_error(R"({"a":"{{s1.result}}"})", {{"s1", "not json"}}).find("result of step 's1' is not valid JSON")
        != std::string::npos);
  CHECK(resolve_error(R"({"a":"{{s1.result}}")").find("args are not valid JSON") == 0);
}

TEST_CASE("placeholders: referenced steps", "[placeholders]") {
  auto r = referenced_steps(R"({"a":"{{s2.result}}","b":["{{steps.s1.result.x}} {{step_1.result}}"],"c":"plain"})", ids);
  REQUIRE(r.ok());
  CHECK(r.value() == std::vector<std::string>{"s2", "s1"});
  auto none = referenced_steps(R"({"a":"{{name}}"})", ids);
  REQUIRE(none.ok());
  CHECK(none.value().empty());
  auto bad = referenced_steps(R"({"a":"{{steps.s9.result}}"})", ids);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "placeholder '{{steps.s9.result}}' refers to unknown step 's9'");
}
