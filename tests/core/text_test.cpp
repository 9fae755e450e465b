#include <catch2/catch.hpp>

#include "core/text.hpp"

using eventide::core::escape;

TEST_CASE("escape puts any text on one line, reversibly", "[text]") {
  CHECK(escape("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e");
  CHECK(escape("plain") == "plain");
  CHECK(escape("say \"hi\"", "\"") == "say \\\"hi\\\"");
  CHECK(escape(std::string("nul\0byte", 8)) == std::string("nul\0byte", 8)); // only the four
}

TEST_CASE("unescape reverses escape, raw bytes included", "[text]") {
  using eventide::core::unescape;
  for (std::string s : {std::string("a\tb\nc\rd\\e"), std::string("plain"), std::string(),
                        std::string("nul\0byte\xff\xc0\xaf", 11), std::string("\\\\n\\t"),
                        std::string("trailing\\")})
    CHECK(unescape(escape(s)) == s);
  CHECK(unescape("say \\\"hi\\\"") == "say \"hi\""); // escape's `also` characters
  CHECK(unescape("lone\\") == "lone\\");
}
