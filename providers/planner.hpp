// The offline rule-based planner: parses a question into a DESIGN §5 plan for the seven tools,
// including compositions (price -> currency conversion -> math, parallel lookups, comparisons).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::providers {

// What the planner knows of the catalog it plans for. Only product_names is needed; the rest
// lets questions that name no product ("what does the folding e-bike cost?") reach the catalog.
struct planner_context {
  planner_context() = default;
  // Names alone: the planner then knows no categories, brands or description words.
  planner_context(std::vector<std::string> names) : product_names(std::move(names)) {}

  std::vector<std::string> product_names; // catalog names, matched case-insensitively
  std::vector<std::string> brands;        // "Voltway"
  std::vector<std::string> categories;    // "e-bike", "rain jacket"
  std::vector<std::string> description_words; // stems of the words of the product files
  std::vector<std::string> attributes;    // facts the products state: "battery", "range"
};

/// Plan JSON text (validated by core::parse_plan), or why the question can't be planned.
outcome<std::string> plan_offline(const std::string& query, const planner_context& ctx);

/// A choice by price and a question about the one chosen ("Which is cheaper, the Aurora X1 or
/// the Nimbus Pro, and what does that one cost in JPY?"). The offline plan looks the products
/// up and then decides ("next": "replan"); the revision reads the choice again from here.
struct price_choice {
  std::vector<std::string> products; // as the question names them, in order
  bool cheapest = true;              // false: the more expensive one
  std::string currency;              // ISO code to convert the chosen price into
};
std::optional<price_choice> price_choice_of(const std::string& question, const planner_context& ctx);

/// The entities a question names, each in the order written: catalog products (and names the
/// catalog lacks, as written), cities (with or without a weather word), currencies (ISO codes,
/// unknown ones as written). Follow-up questions are resolved from them.
struct question_entities {
  std::vector<std::string> products;
  std::vector<std::string> cities;
  std::vector<std::string> currencies;
};
question_entities find_entities(const std::string& query, const planner_context& ctx);

/// Reads products/ and returns the names of the catalog's products.
std::vector<std::string> load_product_names(const std::string& products_dir);

/// The planner's vocabulary from the catalog in `products_dir`: product names, brands,
/// categories and the words of their descriptions (names only when the catalog does not load,
/// nothing when the folder cannot be read).
planner_context load_planner_context(const std::string& products_dir);

} // namespace eventide::providers
