// Placeholder resolution of DESIGN §5: {{steps.<id>.result}}, {{steps.<id>.result.<path>}}
// (dotted path, array indices), and the LLM spellings {{<id>.result...}} and {{step_<n>.result}}
// (<n> a 0-based index into the plan when no step has that id). A whole-string placeholder keeps
// the JSON type of the value; inside a longer string it is rendered as text (json::to_text).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::core {

/// Ids of the steps that `args_json` refers to, resolved against `step_ids` (plan order).
/// Fails on a reference to a step that does not exist.
outcome<std::vector<std::string>> referenced_steps(std::string_view args_json,
                                                   const std::vector<std::string>& step_ids);

/// Substitutes every placeholder in `args_json` using `results` (stepId -> result JSON text).
/// Fails with a clear reason when a step has no result yet or a path does not exist.
outcome<std::string> resolve_placeholders(std::string_view args_json,
                                          const std::map<std::string, std::string>& results,
                                          const std::vector<std::string>& step_ids);

} // namespace eventide::core
