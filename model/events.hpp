// The bottom layer (model/): the typed events and commands of DESIGN §4 and the CloudEvents
// envelope that carries them, as plain values with their type names and topics. No JSON, no
// I/O: core/ folds them, schemas/ encodes and validates them (schemas/codec.hpp).
// JSON-valued fields (plans, args, results) are kept as compact JSON text so every struct is a
// plain copyable value that can travel in an actor message; parse them where they are used.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace eventide::events {

// ---- user-commands ---------------------------------------------------------------------------

struct user_query_received {
  std::string conversation_id;
  std::string user_id;
  std::string query;
  int64_t received_at = 0; // ms since epoch
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct synthesize_final_answer_requested {
  std::string query;
  int plan_version = 0;       // 0 when planning failed
  std::string plan_json;      // "null" when planning failed
  std::string results_json;   // object: stepId -> result (completed steps only)
  std::string failure;        // empty when the plan completed; else why it failed
  std::string failed_step;    // empty unless a step failed
  // What the router decided between plan versions (each PlanRevised's rationale, in order),
  // so the answer can say it ("the Aurora X1 is cheaper: ..."); empty without revisions.
  std::vector<std::string> decisions;
  // The saga of a failed turn (PlanCompensated's or CompensationFailed's entries), so the answer
  // says what was done and undone; "" when nothing had to be undone.
  std::string compensations_json;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
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
  // A follow-up resolved into a standalone question from the conversation's memory ("and in
  // GBP?" -> "What does the Aurora X1 cost in GBP?"); empty: the question as asked.
  std::string resolved_query;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
  // The user who asked (UserQueryReceived's userId): by default the one who may approve its
  // steps or cancel it (DESIGN §15). Optional ("askedBy"); empty in logs written before.
  std::string asked_by;
};

// The agent loop (DESIGN §14): the orchestrator asks the router to revise a turn's plan with
// what its steps observed, because the plan said "then decide" ("next": "replan") or because a
// step marked "onError": "replan" failed for good. On conversation-events, not user-commands:
// the orchestrator reads back every decision it makes, or a replay would make it again.
struct plan_revision_requested {
  int plan_version = 1;          // the version whose outcome this reports; PlanRevised is +1
  std::string reason;            // why a revision is asked, one line
  std::string failed_step;       // empty unless a step failed
  std::string observations_json; // object: stepId -> result of every step that succeeded so far
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

// The router's answer to PlanRevisionRequested: the steps to add (their placeholders may use
// every earlier step's result), or none: the turn ends with what was observed.
struct plan_revised {
  int plan_version = 2;   // the revision's version: the requested one + 1
  std::string plan_json = "null"; // a plan object with the steps to add; "null" (absent in the JSON): finish
  std::string rationale;  // the decision, one line ("the Nimbus Pro is cheaper: 199 < 249 USD")
  std::string planner_provider;
  std::string planner_model;
  int64_t planning_ms = 0;
  int prompt_tokens = -1; // LLM usage when reported; -1 = none (optional "tokens")
  int completion_tokens = -1;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct planning_failed {
  std::string reason;
  std::vector<std::string> provider_errors;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
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
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct plan_step_completed {
  std::string step_id;
  std::string status; // "ok" | "error"
  int attempts = 1;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct plan_completed {
  int plan_version = 1;
  std::string results_json; // object: stepId -> result
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct plan_failed {
  int plan_version = 0;
  std::string failed_step; // empty when the plan itself was invalid
  std::string reason;
  std::string partial_results_json; // object: stepId -> result
  bool compensation_done = true;   // no tool has compensable effects yet
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct final_answer_synthesized {
  std::string answer;
  std::string provider;
  std::string model;
  std::vector<std::string> citations;
  bool failed = false; // the answer explains a failed plan
  int prompt_tokens = -1;     // LLM usage when reported; -1 = none (optional "tokens")
  int completion_tokens = -1;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// The saga of a failed turn (DESIGN §15) ended with every succeeded effect undone, in reverse
/// completion order. Decided by the orchestrator after PlanFailed with compensationDone false.
struct plan_compensated {
  int plan_version = 1;
  int round = 0; // the operator's retry this ends (0: the saga's first run); optional
  /// Array, one entry per effect step in the order undone: {"stepId", "tool", "compensation",
  /// "invocationId", "status": "done", "result"}.
  std::string compensations_json = "[]";
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// The saga stopped: a compensation failed for good (or an effect's outcome is unknown). What
/// is left is listed (status "failed", "not_run" or "unknown") for an operator to retry.
struct compensation_failed {
  int plan_version = 1;
  int round = 0; // as in plan_compensated
  std::string compensations_json = "[]"; // as in plan_compensated, every status
  std::string failed_step;               // the step whose compensation failed
  std::string error;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

// Approvals (DESIGN §15): a step that needs a person's yes waits for it durably. All on
// conversation-events, like the agent loop's records: the orchestrator validates a submitted
// decision against the approvals it asked for, and only in the log's one order of the
// conversation's records do a live run and a replay agree on what was pending.

/// The orchestrator asks: step `step_id` (with its resolved args) runs only once approved.
struct approval_requested {
  int plan_version = 1;
  std::string step_id;
  std::string tool;
  std::string args_json = "{}"; // resolved, as the step would run
  std::string reason;           // why it needs approval
  int64_t expires_at = 0;       // ms since epoch: no decision by then counts as a denial
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// A person's decision as submitted (`eventide approve|reject`, chat): not a fact until the
/// orchestrator has checked it (pending? may this user decide?) and recorded ApprovalGranted or
/// ApprovalDenied; a refused one is dead-lettered with the reason.
struct approval_submitted {
  std::string step_id;
  bool approve = false;
  std::string user_id;
  std::string reason; // optional
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

struct approval_granted {
  std::string step_id;
  std::string user_id;
  std::string reason;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// A refusal, or the approval timeout (user_id empty).
struct approval_denied {
  std::string step_id;
  std::string user_id;
  std::string reason;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// An operator asks to run a stopped saga again (`eventide compensations retry`): the
/// orchestrator checks it (did the turn's saga stop? may this user?) and, accepted, undoes what
/// is left under new invocation ids (round n + 1); refused, it is dead-lettered.
struct compensation_retry_requested {
  std::string user_id;
  std::string reason; // optional
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// A person asks to stop a running turn (`eventide cancel`, Ctrl-C in ask/chat); the
/// orchestrator checks it and records TurnCancelled, or dead-letters it with the reason.
struct cancel_requested {
  std::string user_id;
  std::string reason; // optional
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

/// The turn stops: no new step starts, late results are recorded and ignored, the saga undoes
/// what was done, and the turn ends in PlanFailed saying it was cancelled.
struct turn_cancelled {
  std::string user_id;
  std::string reason;
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

// ---- tool-invocation-requests ----------------------------------------------------------------

struct tool_invocation_requested {
  std::string invocation_id; // conversationId/planVersion/stepId
  int attempt = 1;
  std::string step_id;
  std::string tool;
  std::string args_json; // placeholders already resolved
  int64_t deadline = 0;  // ms since epoch; the orchestrator re-requests after it
  int turn = 1; // the turn of the conversation (DESIGN §13); absent in the JSON = 1
};

using payload = std::variant<user_query_received, synthesize_final_answer_requested,
                             plan_generated, planning_failed, tool_invocation_resulted,
                             plan_step_completed, plan_completed, plan_failed,
                             final_answer_synthesized, tool_invocation_requested,
                             plan_revision_requested, plan_revised, plan_compensated,
                             compensation_failed, approval_requested, approval_submitted,
                             approval_granted, approval_denied, cancel_requested,
                             turn_cancelled, compensation_retry_requested>;

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

/// Per payload type: its CloudEvents `type` and the topic it belongs on (without prefix).
template <class T>
struct event_traits;
#define EVENTIDE_EVENT_TRAITS(type, type_name_text, topic_name)                                 \
  template <>                                                                                   \
  struct event_traits<type> {                                                                   \
    static constexpr const char* name = type_name_text;                                         \
    static constexpr const char* topic = topic_name;                                            \
  };
EVENTIDE_EVENT_TRAITS(user_query_received, "UserQueryReceived", "user-commands")
EVENTIDE_EVENT_TRAITS(plan_generated, "PlanGenerated", "conversation-events")
EVENTIDE_EVENT_TRAITS(planning_failed, "PlanningFailed", "conversation-events")
EVENTIDE_EVENT_TRAITS(tool_invocation_requested, "ToolInvocationRequested",
                      "tool-invocation-requests")
EVENTIDE_EVENT_TRAITS(tool_invocation_resulted, "ToolInvocationResulted", "conversation-events")
EVENTIDE_EVENT_TRAITS(plan_step_completed, "PlanStepCompleted", "conversation-events")
EVENTIDE_EVENT_TRAITS(plan_completed, "PlanCompleted", "conversation-events")
EVENTIDE_EVENT_TRAITS(plan_failed, "PlanFailed", "conversation-events")
EVENTIDE_EVENT_TRAITS(synthesize_final_answer_requested, "SynthesizeFinalAnswerRequested",
                      "user-commands")
EVENTIDE_EVENT_TRAITS(final_answer_synthesized, "FinalAnswerSynthesized", "conversation-events")
EVENTIDE_EVENT_TRAITS(plan_revision_requested, "PlanRevisionRequested", "conversation-events")
EVENTIDE_EVENT_TRAITS(plan_revised, "PlanRevised", "conversation-events")
EVENTIDE_EVENT_TRAITS(plan_compensated, "PlanCompensated", "conversation-events")
EVENTIDE_EVENT_TRAITS(compensation_failed, "CompensationFailed", "conversation-events")
EVENTIDE_EVENT_TRAITS(approval_requested, "ApprovalRequested", "conversation-events")
EVENTIDE_EVENT_TRAITS(approval_submitted, "ApprovalSubmitted", "conversation-events")
EVENTIDE_EVENT_TRAITS(approval_granted, "ApprovalGranted", "conversation-events")
EVENTIDE_EVENT_TRAITS(approval_denied, "ApprovalDenied", "conversation-events")
EVENTIDE_EVENT_TRAITS(cancel_requested, "CancelRequested", "conversation-events")
EVENTIDE_EVENT_TRAITS(turn_cancelled, "TurnCancelled", "conversation-events")
EVENTIDE_EVENT_TRAITS(compensation_retry_requested, "CompensationRetryRequested", "conversation-events")
#undef EVENTIDE_EVENT_TRAITS

/// The conversation turn an event belongs to (every payload has one; 1 in logs written before
/// turns).
int turn_of(const payload& p);

/// "PlanGenerated", "ToolInvocationRequested", ... (the CloudEvents `type`).
const char* type_name(const payload& p);

/// Every known type name, in catalog order.
const std::vector<std::string>& type_names();

/// Topic a payload belongs on (without prefix): "user-commands", "conversation-events",
/// "tool-invocation-requests".
const char* topic_of(const payload& p);

} // namespace eventide::events
