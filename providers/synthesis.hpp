// The offline synthesizer: a template answer that states every step result and its source.
// Used by the synthesis role and by the orchestrationSynthesis tool.
#pragma once

#include <string>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::providers {

struct synthesis_input {
  std::string query;
  std::string plan_json;    // the plan (or "null")
  std::string results_json; // object stepId -> result
  std::string failure;      // empty when the plan completed
  std::string failed_step;
  std::vector<std::string> decisions; // the router's, between plan versions (latest last)
  std::string compensations_json;     // the saga of a failed turn (PlanCompensated's entries)
};

struct synthesis_output {
  std::string answer;                 // first line is the direct answer
  std::vector<std::string> citations; // sources of the results used (product files, data sets)
};

synthesis_output synthesize_offline(const synthesis_input& in);

/// The input of the orchestrationSynthesis tool from its args {"query", "results"?}: results
/// given as a list (resolved placeholders) are keyed r1, r2, ... so every detail line has a
/// name; an object keyed by step id is kept; a single other value becomes r1.
outcome<synthesis_input> synthesis_input_from_args(const std::string& args_json);

} // namespace eventide::providers
