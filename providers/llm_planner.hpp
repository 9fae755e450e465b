// The router's planner chain: each provider in turn (an LLM with prompts/router.md, or the
// offline rule-based planner) until one produces a valid plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/conversation_memory.hpp"
#include "core/outcome.hpp"
#include "providers/planner.hpp"
#include "providers/provider_config.hpp"
#include "providers/revise.hpp"

namespace eventide::providers {

struct planning_result {
  std::string plan_json; // only plan fields, valid for core::parse_plan and the "plan" schema
  std::string provider;  // "ollama" | "openai" | "offline"
  std::string model;     // "rule-based" for offline
  int64_t ms = 0;        // whole planning time, failed providers included
  int prompt_tokens = -1;     // summed over the rounds that reported them; -1 when none did
  int completion_tokens = -1;
  int repair_rounds = 0;      // 0 or 1
  std::vector<std::string> errors; // why providers before the successful one failed
};

struct planning_options {
  int64_t deadline_ms = 0;  // on the runtime's http clock; 0 = none
  std::string prompts_dir;  // default resource_root()/prompts
  std::string conversation; // the earlier turns for router.md's {{conversation}} (memory_for_prompt)
};

/// The earlier turns of a conversation (oldest first) as router.md's {{conversation}}: each
/// turn's question, the question it was planned as, and its answer. Trimmed to `max_tokens`
/// (estimated as one token per 4 bytes): the newest turns are kept, answers are cut first, and
/// older turns are left out with a line that says how many. No turns: a line that says so.
std::string memory_for_prompt(const std::vector<const core::turn_memory*>& history,
                              size_t max_tokens);

/// Tries each link of `chain`. An LLM gets router.md (with {{query}}, {{product_names}} and
/// {{conversation}} filled in) as system message and the query as user message, JSON output requested; its
/// reply is cleaned with plan_from_reply and validated; an invalid plan gets exactly one
/// repair round that sends the validation error back. When every provider fails the failure
/// is "every planner failed: <reason>; <reason>..." with one reason per provider, each
/// starting with "<provider> (<model>): " (offline: "offline: "); the same reasons are put in
/// `provider_errors` when given (for PlanningFailed's providerErrors).
outcome<planning_result> plan_with_chain(const std::string& query, const llm_chain& chain,
                                         const planner_context& ctx,
                                         const planning_options& options = {},
                                         std::vector<std::string>* provider_errors = nullptr);

/// The revision of a turn's plan (DESIGN §14) by each link of `chain` in turn: an LLM gets
/// prompts/router_revise.md and replies {"rationale", "steps"[, "next"]} or {"rationale",
/// "finish": true}; an invalid reply gets one repair round; the offline link is revise_offline.
/// Failures as for plan_with_chain ("every reviser failed: ...").
outcome<revision_result> revise_with_chain(const revision_input& in, const llm_chain& chain,
                                           const planner_context& ctx,
                                           const planning_options& options = {},
                                           std::vector<std::string>* provider_errors = nullptr);

/// A model's revision reply: the steps to add as a plan object ("null" to finish) and the
/// rationale. The steps are validated against the plan schema and core::parse_plan with the
/// ids of the earlier steps (`earlier`).
struct revision_reply {
  std::string plan_json;
  std::string rationale;
};
outcome<revision_reply> revision_from_reply(const std::string& reply,
                                            const std::vector<std::string>& earlier);

/// A model's reply turned into plan JSON: the first JSON object in it (fences and prose
/// tolerated), unwrapped from {"plan": {...}} if so wrapped, keeping only "steps" (each with
/// "id", "tool", "args", "dependsOn") and "finalAnswerRequired". Then validated against the
/// "plan" schema and core::parse_plan; the failure is the validation error.
outcome<std::string> plan_from_reply(const std::string& reply);

} // namespace eventide::providers
