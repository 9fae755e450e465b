// The comparison behind the planner's quality figure (tests/fixtures/planner_labelled.json):
// whether a planned question's plan is the labelled one. Used by the [quality] test of the
// offline planner (planner_eval_test.cpp) and by bench/llm_bench, which scores an LLM planner
// with exactly the same rule.
//
// "Exact plan" compares plans as DAGs, not bytes. Each step is reduced to its tool, its key
// args and the steps it depends on; step ids, step order, topK and query wording do not count:
//   getProductInformation  the catalog product its query names ("" when it names none: a
//                          search over the whole catalog)
//   exchangeRate           from, to, amount (default 1)
//   math                   the expression's value, every reference replaced by a fixed number
//   weather                city (any case) and date
//   other tools            only their dependencies
// In the fixture "@k.path" refers to step k (from 1), as {{steps.sk.result.path}} does in a plan.
// An item may list several acceptable plans ("plans"). Items with "unknown_product" name a
// product the catalog lacks; they pass when planning refuses, or when no step names a catalog
// product the question does not name and every lookup naming no catalog product fails when run:
// the plan never substitutes another product.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/outcome.hpp"
#include "providers/tool.hpp"

namespace eventide::quality {

class plan_matcher {
 public:
  explicit plan_matcher(const std::string& products_dir);

  /// Whether `planned` (plan JSON as the planner returned it, or its failure) is right for the
  /// labelled `item` ({"question", "split", "plan" | "plans" | "unknown_product"}).
  bool matches(const json::value& item, const outcome<std::string>& planned) const;

  /// A product the item's expected plans name that the catalog lacks ("" when none): a bad
  /// label, which the quality test refuses.
  std::string unknown_label(const json::value& item) const;

  /// What the item expects, as JSON text, for printing a miss.
  static std::string wanted(const json::value& item);

  const std::vector<std::string>& product_names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::unique_ptr<providers::tool> lookup_;
};

} // namespace eventide::quality
