// The offline synthesizer: a template answer that states every step result and its source.
// Used by the synthesis role and by the orchestrationSynthesis tool.
#pragma once

#include <string>
#include <vector>

namespace eventide::providers {

struct synthesis_input {
  std::string query;
  std::string plan_json;    // the plan (or "null")
  std::string results_json; // object stepId -> result
  std::string failure;      // empty when the plan completed
  std::string failed_step;
};

struct synthesis_output {
  std::string answer;                 // first line is the direct answer
  std::vector<std::string> citations; // sources of the results used (product files, data sets)
};

synthesis_output synthesize_offline(const synthesis_input& in);

} // namespace eventide::providers
