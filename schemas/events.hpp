// Typed events and commands of DESIGN §4 and the CloudEvents envelope that carries them.
// JSON-valued fields (plans, args, results) are kept as compact JSON text so every struct is a
// plain copyable value that can travel in an actor message; parse them where they are used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::events {

// ---- user-commands ---------------------------------------------------------------------------

struct user_query_received {
  std::string conversation_id;
  std::string user_id;
  std::string query;
  int64_t received_at = 0; // ms since epoch
};

struct synthesize_final_answer_requested {
  std::string query;
  int plan_version = 0;       // 0 when planning failed
  std::string plan_json;      // "null" when planning failed
  std::string results_json;   // object: stepId -> result (completed steps only)
  std::string failure;        // empty when the plan completed; else why it failed
  std::string failed_step;    // empty unless a step failed
};

// ---- conversation-events ---------------------------------------------------------------------

struct plan_generated {
  int plan_version = 1;
  std::string plan_json; // DESIGN §5 plan object
  std::string planner_provider;
  std::string planner_model;
  int64_t planning_ms = 0;
  int prompt_tokens = -1;     // LLM usage when reported; -1 = none (optional "tokens")
  int completion_tokens = -1;
};

struct planning_failed {
  std::string reason;
  std::vector<std::string> provider_errors;
};

struct tool_invocation_resulted {
  std::string invocation_id;
  int attempt = 1;
  std::string step_id;
  std::string tool;
  bool ok = true;
  std::string result_json; // "null" when !ok
  std::string error;       // empty when ok
  bool retryable = false;
  int64_t worker_ms = 0;
};

struct plan_step_completed {
  std::string step_id;
  std::string status; // "ok" | "error"
  int attempts = 1;
};

struct plan_completed {
  int plan_version = 1;
  std::string results_json; // object: stepId -> result
};

struct plan_failed {
  int plan_version = 0;
  std::string failed_step; // empty when the plan itself was invalid
  std::string reason;
  std::string partial_results_json; // object: stepId -> result
  bool compensation_done = true;   // no tool has compensable effects yet
};

struct final_answer_synthesized {
  std::string answer;
  std::string provider;
  std::string model;
  std::vector<std::string> citations;
  bool failed = false; // the answer explains a failed plan
  int prompt_tokens = -1;     // LLM usage when reported; -1 = none (optional "tokens")
  int completion_tokens = -1;
};

// ---- tool-invocation-requests ----------------------------------------------------------------

struct tool_invocation_requested {
  std::string invocation_id; // conversationId/planVersion/stepId
  int attempt = 1;
  std::string step_id;
  std::string tool;
  std::string args_json; // placeholders already resolved
  int64_t deadline = 0;  // ms since epoch; the orchestrator re-requests after it
};

using payload = std::variant<user_query_received, synthesize_final_answer_requested,
                             plan_generated, planning_failed, tool_invocation_resulted,
                             plan_step_completed, plan_completed, plan_failed,
                             final_answer_synthesized, tool_invocation_requested>;

/// One CloudEvents 1.0 structured event. `subject` is always the conversation id and is also
/// the record key.
struct event {
  std::string id;           // deterministic where a duplicate must be recognisable
  std::string source;       // eventide/<role>/<node-id>
  int64_t time_ms = 0;      // producer wall clock
  std::string subject;      // conversationId
  std::string causation_id; // id of the event that caused this one ("" for user input)
  std::string traceparent;  // optional W3C trace context
  payload data;
};

/// "PlanGenerated", "ToolInvocationRequested", ... (the CloudEvents `type`).
const char* type_name(const payload& p);

/// Every known type name, in catalog order.
const std::vector<std::string>& type_names();

/// Topic a payload belongs on (without prefix): "user-commands", "conversation-events",
/// "tool-invocation-requests".
const char* topic_of(const payload& p);

/// Builds the JSON text of an event and validates it against the envelope schema and the
/// payload's schema; a failure means a producer bug and names the violated rule.
outcome<std::string> encode(const event& e);

/// The event's CloudEvents attributes as Kafka headers, binary-mode names (Kafka protocol
/// binding): ce_specversion, ce_id, ce_source, ce_type, ce_time, ce_subject, ce_dataschema and
/// the extensions ce_causationid and ce_traceparent when set, plus content-type
/// "application/cloudevents+json; charset=UTF-8" because the value stays the structured event.
/// Lets standard tooling route on the type without parsing the value.
std::vector<std::pair<std::string, std::string>> cloudevents_headers(const event& e);

/// Parses bytes, validates envelope and data against their schemas, and builds the typed event.
/// The failure reason is suitable for the dead-letter queue ("invalid JSON at byte 3: ...",
/// "unknown event type 'Foo'", "schema violation in data at /plan: required property ...").
outcome<event> decode(std::string_view bytes);

/// Whether every reference an event carries belongs to its conversation (the subject): the
/// subject holds no '/', and the event id, the causation id and the invocation id of a request
/// or result are derived from it ("<conv>/...", "<conv>/<planVersion>/<stepId>", see
/// core/ids.hpp). A record written under conversation A that names B's invocation would
/// otherwise run B's step and fill B's ledger entry with A's result. decode() and encode()
/// refuse such events with this reason ("data.invocationId 'B/1/s1' does not belong to
/// conversation 'A' (expected 'A/<planVersion>/s1')").
outcome<void> check_ownership(const event& e);

/// The tool a ToolInvocationRequested record names, read without validating it; nullopt when
/// the bytes are not such a record with a string `data.tool`. Lets a tool's consumer group
/// pass over requests for other tools cheaply (the addressed group validates them).
std::optional<std::string> peek_requested_tool(std::string_view bytes);

} // namespace eventide::events
