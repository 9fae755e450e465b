// Planner quality on labelled questions (tests/fixtures/planner_labelled.json), per catalog and
// split. Items with "catalog": "outdoor" are planned against tests/fixtures/catalogs/outdoor,
// the others against products/. The figures asserted are in quality_figures.hpp (the README
// reports them). What counts as the right plan is in plan_match.hpp (bench/llm_bench scores an
// LLM planner with the same rule).
//
// Only tune misses are printed: held-out items give a count and nothing else, so that nobody
// changing the planner tunes it on them.
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/json.hpp"
#include "providers/planner.hpp"
#include "tests/providers/plan_match.hpp"
#include "tests/providers/quality_figures.hpp"

using namespace eventide;

namespace {

struct catalog_under_test {
  quality::plan_matcher matcher;
  providers::planner_context ctx;
};

struct tally {
  int total = 0, exact = 0, unknown_total = 0, unknown_ok = 0;
};

} // namespace

TEST_CASE("planner_eval: exact-plan accuracy per catalog and split (tune, heldout)",
          "[planner][quality]") {
  std::ifstream in(EVENTIDE_FIXTURES "/planner_labelled.json");
  std::stringstream text;
  text << in.rdbuf();
  auto items = json::parse(text.str());
  REQUIRE(items.ok());

  const std::map<std::string, std::string> dirs = {
      {"bundled", EVENTIDE_SOURCE_DIR "/products"},
      {"outdoor", EVENTIDE_FIXTURES "/catalogs/outdoor"}};
  std::map<std::string, catalog_under_test> catalogs;
  for (const auto& [name, dir] : dirs)
    catalogs.emplace(name, catalog_under_test{quality::plan_matcher(dir),
                                              providers::load_planner_context(dir)});
  REQUIRE(catalogs.at("bundled").matcher.product_names().size() == 12);
  REQUIRE(catalogs.at("outdoor").matcher.product_names().size() == 10);

  std::map<std::string, std::map<std::string, tally>> tallies; // catalog -> split -> tally
  for (const auto& item : items->GetArray()) {
    std::string question = item["question"].GetString(), split = item["split"].GetString();
    std::string catalog = item.HasMember("catalog") ? item["catalog"].GetString() : "bundled";
    INFO(question);
    REQUIRE(catalogs.count(catalog) == 1);
    REQUIRE((split == "tune" || split == "heldout"));
    const auto& under_test = catalogs.at(catalog);
    REQUIRE(under_test.matcher.unknown_label(item).empty()); // labels name real products
    auto planned = providers::plan_offline(question, under_test.ctx);
    bool ok = under_test.matcher.matches(item, planned);
    tally& t = tallies[catalog][split];
    ++t.total;
    t.exact += ok;
    if (item.HasMember("unknown_product")) {
      ++t.unknown_total;
      t.unknown_ok += ok;
    }
    if (!ok && split == "tune")
      std::cout << "planner_eval miss [" << catalog << "] " << question.substr(0, 100) << "\n  got: "
                << (planned ? *planned : "planning failed: " + planned.error()) << "\n  want: "
                << quality::plan_matcher::wanted(item) << "\n";
  }
  for (const auto& [catalog, splits] : tallies)
    for (const auto& [split, t] : splits)
      std::cout << "planner exact plans [" << catalog << "] " << split << " " << t.exact << "/"
                << t.total << " (unknown products never substituted: " << t.unknown_ok << "/"
                << t.unknown_total << ")\n";

  using namespace quality;
  CHECK(tallies["bundled"]["tune"].total == planner_bundled_tune_total);
  CHECK(tallies["bundled"]["tune"].exact == planner_bundled_tune_exact);
  CHECK(tallies["bundled"]["heldout"].total == planner_bundled_heldout_total);
  CHECK(tallies["bundled"]["heldout"].exact == planner_bundled_heldout_exact);
  CHECK(tallies["outdoor"]["tune"].total == planner_outdoor_tune_total);
  CHECK(tallies["outdoor"]["tune"].exact == planner_outdoor_tune_exact);
  CHECK(tallies["outdoor"]["heldout"].total == planner_outdoor_heldout_total);
  CHECK(tallies["outdoor"]["heldout"].exact == planner_outdoor_heldout_exact);
  // At least a third of the set is held out.
  int all = 0, held_out = 0;
  for (const auto& [catalog, splits] : tallies)
    for (const auto& [split, t] : splits) {
      all += t.total;
      held_out += split == "heldout" ? t.total : 0;
    }
  CHECK(3 * held_out >= all);
}
