// Planner quality on labelled questions (tests/fixtures/planner_labelled.json), per split. The
// figures asserted are in quality_figures.hpp (the README reports them). What counts as the
// right plan is in plan_match.hpp (bench/llm_bench scores an LLM planner with the same rule).
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

TEST_CASE("planner_eval: exact-plan accuracy per split (tune, heldout)", "[planner][quality]") {
  std::ifstream in(EVENTIDE_FIXTURES "/planner_labelled.json");
  std::stringstream text;
  text << in.rdbuf();
  auto items = json::parse(text.str());
  REQUIRE(items.ok());
  const quality::plan_matcher matcher(EVENTIDE_SOURCE_DIR "/products");
  REQUIRE(matcher.product_names().size() == 12);
  const providers::planner_context ctx{matcher.product_names()};

  std::map<std::string, int> total, exact;
  int unknown_total = 0, unknown_ok = 0;
  for (const auto& item : items->GetArray()) {
    std::string question = item["question"].GetString(), split = item["split"].GetString();
    ++total[split];
    INFO(question);
    REQUIRE(matcher.unknown_label(item).empty()); // labels name real products
    auto planned = providers::plan_offline(question, ctx);
    bool ok = matcher.matches(item, planned);
    if (item.HasMember("unknown_product")) {
      ++unknown_total;
      unknown_ok += ok;
    }
    exact[split] += ok;
    if (!ok)
      std::cout << "planner_eval miss [" << split << "] " << question.substr(0, 100) << "\n  got: "
                << (planned ? *planned : "planning failed: " + planned.error()) << "\n  want: "
                << quality::plan_matcher::wanted(item) << "\n";
  }
  std::cout << "planner exact plans: tune " << exact["tune"] << "/" << total["tune"] << ", heldout "
            << exact["heldout"] << "/" << total["heldout"] << " (unknown products never substituted: "
            << unknown_ok << "/" << unknown_total << ")\n";
  CHECK(total["tune"] == quality::planner_tune_total);
  CHECK(total["heldout"] == quality::planner_heldout_total);
  CHECK(exact["tune"] == quality::planner_tune_exact);
  CHECK(exact["heldout"] == quality::planner_heldout_exact);
}
