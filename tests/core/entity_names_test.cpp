// Unknown names: the nearest known names, the message that reports them, and which product-like
// names of a question the catalog lacks.
#include <catch2/catch.hpp>

#include "core/entity_names.hpp"

using namespace eventide::core;

namespace {

const std::vector<std::string> catalog = {
    "Aurora X1",  "Clarity 27Q",    "Harbor Speaker", "Inkwell Paper", "Kestrel S5", "Lumen M50",
    "Nimbus Pro", "Slate Tab 11",   "Sonora Studio",  "Tidal Buds",    "Vertex Pulse",
    "Zephyr Phone 8"};

// The unknown product names of `text`, as written.
std::vector<std::string> unknown_in(const std::string& text) {
  std::vector<std::string> out;
  for (auto& s : unknown_product_names(text, catalog))
    out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

using names = std::vector<std::string>;

} // namespace

TEST_CASE("edit_distance ignores case", "[entity_names]") {
  CHECK(edit_distance("Berlin", "berln") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("EUR", "eur") == 0);
}

TEST_CASE("nearest_names: shared words first, then few edits, nothing near is nothing",
          "[entity_names]") {
  CHECK(nearest_names("Aurora X2", catalog) == names{"Aurora X1"});
  CHECK(nearest_names("Tidal Buds 3", catalog) == names{"Tidal Buds"});
  CHECK(nearest_names("Zephyr Phone 9", catalog) == names{"Zephyr Phone 8"});
  // A shared number alone ("11") does not make a name near.
  CHECK(nearest_names("Slate Tab 12", catalog) == names{"Slate Tab 11"});
  CHECK(nearest_names("Berln", {"Amsterdam", "Berlin", "Bern"}) == names{"Berlin", "Bern"});
  CHECK(nearest_names("Atlantis", {"Amsterdam", "Berlin"}).empty());
  CHECK(nearest_names("XYZ", {"EUR", "USD"}).empty());
  CHECK(nearest_names("a", {"b", "c", "d", "e"}, 2) == names{"b", "c"});
}

TEST_CASE("unknown_name_message names the nearest known names, else all of them", "[entity_names]") {
  CHECK(unknown_name_message("product", "Aurora X2", catalog)
        == "unknown product 'Aurora X2'; nearest known: Aurora X1");
  CHECK(unknown_name_message("city", "Atlantis", {"Berlin", "Paris"})
        == "unknown city 'Atlantis'; known: Berlin, Paris");
  CHECK(unknown_name_message("currency", "EUX", {"USD", "EUR"})
        == "unknown currency 'EUX'; nearest known: EUR");
}

TEST_CASE("unknown_product_names: a family name with another model is unknown", "[entity_names]") {
  CHECK(unknown_in("How much does the Aurora X2 cost?") == names{"Aurora X2"});
  CHECK(unknown_in("how much is the aurora x2") == names{"aurora x2"});
  CHECK(unknown_in("How much is the Nimbus Max?") == names{"Nimbus Max"});
  CHECK(unknown_in("nimbus max price") == names{"nimbus max"});
  CHECK(unknown_in("How much do the Tidal Buds 3 cost?") == names{"Tidal Buds 3"});
  CHECK(unknown_in("Zephyr Phone 9 or Slate Tab 12?") == names{"Zephyr Phone 9", "Slate Tab 12"});
  CHECK(unknown_in("the Clarity 32Q and the Aurora X2 Max") == names{"Clarity 32Q", "Aurora X2 Max"});
  CHECK(unknown_in("Zephyr Phone 8 Pro") == names{"Zephyr Phone 8 Pro"});
}

TEST_CASE("unknown_product_names: known names, quantities and specs are not products",
          "[entity_names]") {
  for (const char* text :
       {"How much does the Aurora X1 cost?", "How much is the Aurora?", "Aurora X1 x2",
        "Aurora X1 x 2", "How much are 3 Aurora X1?", "Aurora X1 for 2 units", "Aurora X1 2 units",
        "Is the Aurora X1 2 kg?", "Aurora X1 19% VAT", "Aurora X1 2.5", "Kestrel S5 4K video",
        "Does the Aurora X1 max out at 32 GB?", "Is the Aurora X1 1299 dollars?",
        "Compare the Zephyr Phone 8 and the Slate Tab 11", "Tidal Buds, 3 of them",
        "Which laptop has the longest battery?", "Aurora 2 units", ""})
    CHECK(unknown_in(text).empty());
  // A longer catalog name that starts like another one is known.
  CHECK(unknown_product_names("AURORA X1 MAX", {"Aurora X1", "Aurora X1 Max"}).empty());
  CHECK(unknown_product_names("Aurora X1 Max", {"Aurora X1"}).size() == 1);
}
