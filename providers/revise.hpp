// The offline reviser (DESIGN §14): what comes after a plan that said "then decide", from the
// question and what its steps observed. It computes its decision from the results, offline.
#pragma once

#include <cstdint>
#include <string>

#include "core/outcome.hpp"
#include "providers/planner.hpp"

namespace eventide::providers {

struct revision_result {
  std::string plan_json = "null"; // a plan object with the steps to add; "null": finish
  std::string rationale;          // the decision, one line
  std::string provider = "offline";
  std::string model = "rule-based";
  int64_t ms = 0;
  int prompt_tokens = -1;
  int completion_tokens = -1;
};

/// What the revision of a turn is asked from.
struct revision_input {
  std::string question;          // the standalone question the turn was planned as
  std::string plan_json;         // every step of the turn so far (core::merge_revision)
  std::string observations_json; // stepId -> result of every step that succeeded
  std::string failed_step;       // a re-plannable step that failed, or empty
  std::string reason;            // why the revision was asked
};

/// A choice by price (providers/planner.hpp price_choice_of): picks the cheaper (or dearer)
/// product from the looked-up prices and converts its price into the currency asked for; with
/// prices in different currencies it converts them all first and decides in the next revision.
/// Anything else, or a failed step, finishes the turn with what was observed (offline there is
/// no other way to get it), saying why.
outcome<revision_result> revise_offline(const revision_input& in, const planner_context& ctx);

} // namespace eventide::providers
