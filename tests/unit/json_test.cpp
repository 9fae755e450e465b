#include <catch2/catch.hpp>

#include <string>

#include "core/json.hpp"

using namespace eventide;

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
