#include <catch2/catch.hpp>

#include <string>

#include "core/json.hpp"

using namespace eventide;
using namespace std::string_literals;

namespace {

std::string nested(size_t depth, char open, char close, const std::string& inner = "") {
  return std::string(depth, open) + inner + std::string(depth, close);
}

} // namespace

TEST_CASE("json: nesting up to the bound parses, one level more is refused", "[json]") {
  CHECK(json::parse(nested(json::max_depth, '[', ']')));
  auto deeper = json::parse(nested(json::max_depth + 1, '[', ']'));
  REQUIRE_FALSE(deeper);
  CHECK(deeper.error() == "JSON nested deeper than 64 levels (at byte 64)");
  std::string objects;
  for (int i = 0; i <= json::max_depth; ++i)
    objects += R"({"a":)";
  objects += "1" + std::string(json::max_depth + 1, '}');
  CHECK_FALSE(json::parse(objects));
}

TEST_CASE("json: 200,000 levels are refused without recursion", "[json]") {
  for (auto [open, close] : {std::pair{'[', ']'}, std::pair{'{', '}'}}) {
    auto r = json::parse(nested(200000, open, close));
    REQUIRE_FALSE(r);
    CHECK(r.error().find("nested deeper than 64 levels") != std::string::npos);
  }
  // Unbalanced or invalid text: still a clear refusal, never a crash.
  CHECK_FALSE(json::parse(std::string(200000, '[')));
}

TEST_CASE("json: brackets inside strings do not count as nesting", "[json]") {
  std::string text = R"({"s":")" + std::string(1000, '[') + R"(\"{{{", "t":"]]]\\"})";
  CHECK_FALSE(json::too_deep(text));
  CHECK(json::parse(text));
  CHECK(json::too_deep(R"(["\"", [[1]]])", 2) == std::optional<size_t>{8});
}

TEST_CASE("json: invalid UTF-8 is refused; a NUL in text is found with its path", "[json]") {
  auto bad = json::parse("{\"q\":\"caf\xc3\x28\"}");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("Invalid encoding") != std::string::npos);
  CHECK_FALSE(json::parse("[\"\xff\"]"));
  CHECK_FALSE(json::parse("[\"\xc0\xaf\"]")); // an overlong '/'
  CHECK(json::parse("[\"caf\xc3\xa9\"]"));     // valid two-byte UTF-8

  auto doc = json::parse(R"({"data":{"args":{"expression":"2+3\u0000*1000"}}})");
  REQUIRE(doc);
  CHECK(json::find_nul(*doc) == std::optional<std::string>{"/data/args/expression"});
  auto in_key = json::parse(R"({"a":[1,{"k\u0000":2}]})");
  REQUIRE(in_key);
  CHECK(json::find_nul(*in_key) == std::optional<std::string>{"/a/1/k\0"s});
  CHECK_FALSE(json::find_nul(*json::parse(R"({"a":["no nul here"]})")));
}
