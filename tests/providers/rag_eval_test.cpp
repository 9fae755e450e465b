// ragGeneration quality on the answer text (tests/fixtures/rag_questions.json): each labelled
// question's answer must contain a fact copied from products/*.md ("must_contain" lists
// acceptable spellings; any one counts). The figure asserted is in quality_figures.hpp.
//
// The path is the one a grounded question takes in the pipeline (README: "grounded Q&A"):
// getProductInformation {"query": question}, then ragGeneration {"query": question, "context":
// "{{steps.s1.result.chunks}}"}, with the placeholder resolved as the orchestrator does and
// both tools built and invoked as the worker builds and invokes them.
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "core/json.hpp"
#include "core/placeholders.hpp"
#include "core/text.hpp"
#include "providers/offline_tools.hpp"
#include "tests/providers/quality_figures.hpp"

using namespace eventide;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// {"query": question} plus `extra` members given as raw JSON.
std::string args_with_query(const std::string& question, const std::string& extra = "") {
  json::document d(rapidjson::kObjectType);
  d.AddMember("query", json::str(question, d.GetAllocator()), d.GetAllocator());
  auto text = json::dump(d);
  return extra.empty() ? text : text.substr(0, text.size() - 1) + "," + extra + "}";
}

} // namespace

TEST_CASE("rag_eval: grounded answers contain the labelled catalog fact", "[tools][quality]") {
  auto items = json::parse(read(EVENTIDE_FIXTURES "/rag_questions.json"));
  REQUIRE(items.ok());
  auto lookup = providers::make_product_info_tool(products_dir);
  auto rag = providers::make_offline_rag_tool(products_dir);

  int total = 0, correct = 0;
  for (const auto& item : items->GetArray()) {
    std::string question = item["question"].GetString(), product = item["product"].GetString();
    REQUIRE(std::string(item["split"].GetString()) == "heldout");
    // Labels are facts of the catalog: one spelling at least is in the product's file.
    auto source = core::lower(read(products_dir + "/" + product + ".md"));
    bool in_catalog = false;
    for (const auto& fact : item["must_contain"].GetArray())
      in_catalog = in_catalog || source.find(core::lower(fact.GetString())) != std::string::npos;
    INFO(question);
    REQUIRE(in_catalog);

    ++total;
    std::string answer = "(no answer)";
    auto found = lookup->invoke(args_with_query(question));
    if (found.ok) {
      auto args = core::resolve_placeholders(
          args_with_query(question, R"("context":"{{steps.s1.result.chunks}}")"),
          {{"s1", found.result_json}}, {"s1", "s2"});
      REQUIRE(args.ok());
      auto out = rag->invoke(*args);
      if (out.ok)
        answer = json::get_string(*json::parse(out.result_json), "answer").value_or(answer);
    }
    bool ok = false;
    for (const auto& fact : item["must_contain"].GetArray())
      ok = ok || core::lower(answer).find(core::lower(fact.GetString())) != std::string::npos;
    correct += ok;
    if (!ok)
      std::cout << "rag_eval miss: " << question << "\n  want one of: " << json::dump(item["must_contain"])
                << "\n  answer: " << answer << "\n";
  }
  std::cout << "ragGeneration answers containing the fact: heldout " << correct << "/" << total << "\n";
  CHECK(total == quality::rag_heldout_total);
  CHECK(correct == quality::rag_heldout_correct);
}
