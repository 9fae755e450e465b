// The plan model of DESIGN §5 and its validation: known tools, required args per tool, unique
// ids, dependencies (explicit `dependsOn` plus those implied by placeholders) that exist, and
// no cycles. An invalid plan is reported, never thrown.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::core {

/// When a step of a tool needs a person's approval before it runs (DESIGN §15).
enum class approval_policy {
  never,
  always,
  above_threshold, // the step's "amount" arg is above the orchestrator's approval-threshold
};

struct tool_spec {
  std::string name;
  std::vector<std::string> required_args;
  std::vector<std::string> optional_args;
  std::string description; // one line, used in planner prompts and `eventide tools`
  /// The tool changes the world outside the log (the shop): a worker runs it with an
  /// Idempotency-Key derived from the invocation id.
  bool effect = false;
  /// The tool that undoes a succeeded step of this one (empty: nothing to undo), and its args
  /// as arg -> field of the step's result, e.g. cancelOrder {orderId: result.orderId}.
  std::string compensation;
  std::vector<std::pair<std::string, std::string>> compensation_args;
  approval_policy approval = approval_policy::never;
};

/// The seven read-only tools of DESIGN §5 and the shop's effect tools of DESIGN §15.
const std::vector<tool_spec>& tool_catalog();
const tool_spec* find_tool(std::string_view name);

/// Longest step id; the schemas bound the same ids (and every pattern-checked string) with
/// maxLength, because std::regex recurses once per character (30,000 characters overflowed an
/// 8 MiB stack).
constexpr size_t max_step_id_length = 64;

struct plan_step {
  std::string id;
  std::string tool;
  std::string args_json;               // object, may contain placeholders
  std::vector<std::string> depends_on; // explicit dependsOn ∪ steps referenced by placeholders
  bool replan_on_error = false;        // "onError": "replan": a permanent failure asks for a revision
  /// What undoes the step once it succeeded: the plan's "compensation" or the catalog's, with
  /// args whose placeholders may name this step's result ({{steps.<id>.result.orderId}}).
  /// Empty tool: nothing to undo.
  std::string compensation_tool;
  std::string compensation_args_json = "{}";
  bool approval_required = false; // "approval": "required" (the tool's policy may add it too)
};

struct plan {
  std::vector<plan_step> steps; // in the order given
  bool final_answer_required = true;
  bool replan = false; // "next": "replan": after the last step the router decides what follows
};

/// Parses and validates a plan object. Failure reasons name the step and the rule, e.g.
/// "step s2: unknown tool 'fly'", "step s3: depends on unknown step 's9'", "cycle: s1 -> s2 -> s1".
/// A revision (DESIGN §14) is parsed with the ids of the steps before it in `earlier`: its
/// steps may depend on them (their results are in) and may not reuse their ids.
outcome<plan> parse_plan(std::string_view plan_json, const std::vector<std::string>& earlier = {});

/// A plan and one revision as one plan object (for readers that want every step of the turn):
/// the revision's steps appended, its "next" in place of the plan's. `revision_json` "null"
/// (finish) leaves the steps and drops "next". Either side not a plan object: `plan_json`.
std::string merge_revision(std::string_view plan_json, std::string_view revision_json);

} // namespace eventide::core
