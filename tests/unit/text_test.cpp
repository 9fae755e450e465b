#include <catch2/catch.hpp>

#include "core/text.hpp"

using eventide::core::escape;

TEST_CASE("escape puts any text on one line, reversibly", "[text]") {
  CHECK(escape("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e");
  CHECK(escape("plain") == "plain");
  CHECK(escape("say \"hi\"", "\"") == "say \\\"hi\\\"");
  CHECK(escape(std::string("nul\0byte", 8)) == std::string("nul\0byte", 8)); // only the four
}
