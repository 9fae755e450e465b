// The orchestrator's per-conversation state machine: a deterministic fold over the
// conversation's events (state = fold(log)) plus decide(), which returns the events the state
// implies that are not in the log yet. The actor only wires this to messages: it applies each
// record, produces what decide() returns, and in restore mode applies without deciding.
// Files: plan_state.cpp (apply, decide, timeouts), plan_state_saga.cpp (the saga),
// plan_state_decisions.cpp (approvals, cancellation, budgets), plan_state_snapshot.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "core/plan.hpp"
#include "model/events.hpp"

namespace eventide::core {

enum class step_status { pending, requested, succeeded, failed };
enum class plan_status { pending, running, completed, failed }; // pending = no plan yet

const char* to_string(step_status s);
const char* to_string(plan_status s);

struct orchestration_policy {
  int max_attempts = 3;           // retryable errors before the step (and plan) fails
  // Retryable errors before a compensation fails (the saga stops): undoing is idempotent and
  // must outlast a short outage of the shop, so far more than a step's (backoff capped).
  int max_compensation_attempts = 50;
  int64_t step_timeout_ms = 30000; // no result by then -> re-request (does not fail the plan)
  backoff_policy retry_backoff;    // delay before re-running after a retryable error
  int64_t turn_timeout_ms = 300000; // no plan progress (plan or result) by then -> PlanFailed; 0 = off
  int max_plan_revisions = 3; // PlanRevised per turn; one more wanted fails the plan (DESIGN §14)
  // Approvals (DESIGN §15): a step of a tool whose policy is "above threshold" needs one when
  // its "amount" is worth more than this many USD; no decision within the timeout is a denial.
  double approval_threshold_usd = 1000;
  int64_t approval_timeout_ms = 24 * 3600 * 1000;
  // Who may approve a step or cancel a turn; empty: the user who asked (PlanGenerated askedBy).
  std::vector<std::string> approvers;
  // The USD value of an amount in a currency (the node reads the shop's rates); unset or
  // nullopt (an unknown currency): the step needs approval.
  std::function<std::optional<double>(double amount, const std::string& currency)> usd_value;
  // Budgets per turn (DESIGN §15), 0 = none. Exceeding one fails the turn with the reason, and
  // the saga undoes what it did. Tokens are the LLM usage the log reports (the planner's and
  // LLM tools'); cost prices them per model (USD per 1,000 tokens; unknown models cost 0).
  int max_tool_invocations = 0;
  int64_t max_llm_tokens = 0;
  double max_cost_usd = 0;
  int64_t max_wall_ms = 0; // from the plan's record
  std::map<std::string, double> usd_per_1k_tokens;
};

enum class approval_status { none, requested, granted, denied };
const char* to_string(approval_status s);

/// One compensation of the saga: the same request/result/retry bookkeeping as a step, under the
/// invocation id <turn scope>/compensate/<stepId>.
struct compensation_state {
  step_status status = step_status::pending;
  int attempt = 0;
  int errors = 0;
  int64_t deadline = 0;
  int64_t not_before = 0;
  std::string args_json;
  std::string result_json;
  std::string error;
};

struct step_state {
  plan_step step;
  step_status status = step_status::pending;
  int attempt = 0;          // highest attempt requested (or seen in a result)
  int errors = 0;           // retryable errors seen
  int64_t deadline = 0;     // of the last request
  int64_t not_before = 0;   // earliest time to request again after a retryable error
  std::string args_json;    // resolved args of the last request
  std::string result_json;  // when succeeded
  std::string error;        // when failed (or the last retryable error)
  bool completion_recorded = false; // PlanStepCompleted applied or decided
  int version = 1;          // the plan version that added the step (its invocation ids carry it)
  bool replanned = false;   // failed, and handed to a revision instead of failing the plan
  int completed_seq = 0;    // 1, 2, ...: the order steps succeeded in (the saga undoes backwards)
  bool outcome_unknown = false; // an effect step that never answered after the turn failed
  compensation_state undo;  // the saga's compensation of this step (DESIGN §15)
  approval_status approval = approval_status::none;
  int64_t approval_expires = 0; // ApprovalRequested's expiresAt
  std::string approval_note;    // why it was asked; then who decided and why
};

class conversation_state {
 public:
  /// `session`: this orchestrator process's id, written into snapshots. Decisions a snapshot
  /// of another session holds and the log does not (see decide()) are made again.
  /// The fold of one turn (DESIGN §13) of the conversation: events of other turns are ignored
  /// and every decision carries `turn`.
  conversation_state(std::string conversation_id, orchestration_policy policy = {},
                     std::string session = {}, int turn = 1);

  /// Folds one event of this conversation. Events of other types are ignored. Idempotent:
  /// a duplicate (same request/result/completion again) changes nothing. Requests (from
  /// tool-invocation-requests) and results (conversation-events) may arrive in either order.
  void apply(const events::event& e);

  /// Why this fold refuses a revision or saga record that cannot belong to it (the orchestrator
  /// dead-letters it): a PlanRevisionRequested or PlanRevised for a turn without a plan, a
  /// PlanRevised that skips a version, or one newer than the version the turn ended with; a
  /// PlanCompensated or CompensationFailed for a turn without a plan or a saga, a
  /// PlanCompensated before every effect is undone, a CompensationFailed naming a step with
  /// nothing to undo. A duplicate of what was applied is not refused (it changes nothing).
  /// nullopt: accepted.
  std::optional<std::string> refuses(const events::event& e) const;

  /// Events that the state implies and that are not in the log yet, in the order to produce
  /// them; the state records them as emitted so the next call does not repeat them, and keeps
  /// them as unlogged until apply() sees them come back from the log. After a restore from a
  /// snapshot of another session, the first call first returns the unlogged decisions again,
  /// unchanged (same ids): by then the replay has applied everything in the log, so what is
  /// still unlogged never reached it (a Kafka transaction aborted by the crash). Ready steps
  /// (all dependencies succeeded, not_before reached) get ToolInvocationRequested with resolved
  /// args; overdue requests are re-requested; terminal steps get PlanStepCompleted; then
  /// PlanCompleted or PlanFailed once. An invalid plan or an unresolvable placeholder fails the
  /// plan with the reason.
  std::vector<events::payload> decide(int64_t now_ms);

  /// The earliest time at which decide() would return something new (a retry or a deadline),
  /// or nullopt when nothing is scheduled.
  std::optional<int64_t> next_wakeup() const;

  const std::string& conversation_id() const { return conversation_id_; }
  int turn() const { return turn_; }
  /// turn_scope(conversation, turn): the prefix of this turn's ids and its key in stores.
  const std::string& scope() const { return scope_; }
  plan_status status() const { return status_; }
  int plan_version() const { return plan_version_; }
  /// The plan's end (PlanCompleted or PlanFailed) is in the log or decided. Not the status: an
  /// invalid plan fails as soon as it is read, and until its PlanFailed is written the
  /// conversation must not be compacted away (issue 12: it was, when read while restoring).
  bool finished() const { return finish_recorded_; }
  /// Finished, and every decision back from the log: the conversation may be compacted to its
  /// finished marker (a decision still unlogged would be lost with it).
  /// A saga that stopped with effects left is not settled either: an operator may retry it, so
  /// the fold stays in the store instead of being compacted to its finished marker.
  bool settled() const {
    return finish_recorded_ && !saga_pending() && !saga_failed_ && unlogged_.empty();
  }
  /// The turn failed after effects and their saga has not ended (PlanCompensated or
  /// CompensationFailed not applied or decided yet).
  bool saga_pending() const { return saga_open_ && !saga_recorded_; }
  /// Ids of the decisions not seen in the log yet, oldest first.
  std::vector<std::string> unlogged_ids() const;
  bool has_unlogged() const { return !unlogged_.empty(); }
  const std::vector<step_state>& steps() const { return steps_; }
  const std::string& failure_reason() const { return failure_reason_; }
  /// The latest version asks for a revision that is not back from the router yet.
  bool awaiting_revision() const { return revision_requested_ == plan_version_ && plan_version_ > 0; }

  /// Canonical text of everything the fold holds; equal digests mean equal states (replay test).
  std::string digest() const;

  /// The fold as compact JSON for the orchestrator's store. Events that arrived before the plan
  /// are kept as text made by `encode` (the codec lives above core/).
  std::string snapshot(const std::function<std::string(const events::event&)>& encode) const;

  /// Rebuilds a fold from snapshot(); restore(snapshot(x)).digest() == x.digest().
  static outcome<conversation_state>
  restore(std::string conversation_id, orchestration_policy policy, std::string_view snapshot,
          const std::function<outcome<events::event>(std::string_view)>& decode,
          std::string session = {}, int turn = 1);

 private:
  std::string conversation_id_;
  int turn_ = 1;
  std::string scope_; // turn_scope(conversation_id_, turn_)
  orchestration_policy policy_;
  plan_status status_ = plan_status::pending;
  int plan_version_ = 0;
  std::string plan_json_;             // PlanGenerated's plan
  int base_version_ = 0;              // PlanGenerated's version; each revision adds one
  std::vector<std::string> revisions_; // each PlanRevised's plan in order ("null": finish)
  bool replan_ = false;               // the latest version says "next": "replan"
  int revision_requested_ = 0;        // highest version whose PlanRevisionRequested is decided
  std::string revision_failure_;      // why the latest revision was asked, when a step failed
  std::vector<step_state> steps_;
  std::string failure_reason_;
  std::string failed_step_;
  bool finish_recorded_ = false; // PlanCompleted/PlanFailed applied or decided
  int64_t last_progress_ms_ = 0; // event time of the plan or of its latest result (-1: unknown)
  std::vector<events::event> early_; // requests/results seen before the plan (replay order)
  std::string session_;
  // A decision returned by decide() and not yet applied from the log.
  struct unlogged_decision {
    unlogged_decision(std::string id, events::payload decision, std::string snapshot_text = {})
      : id(std::move(id)), decision(std::move(decision)), snapshot_text(std::move(snapshot_text)) {}
    std::string id; // deterministic
    events::payload decision;
    // Its event's text in snapshot(): the same in every snapshot until the record is read
    // back (one to a few records later), so it is encoded once, not once per snapshot.
    mutable std::string snapshot_text;
  };
  std::vector<unlogged_decision> unlogged_;
  bool orphans_ = false; // restored from another session: decide() repeats unlogged_ first
  int completions_ = 0;   // steps succeeded so far (completed_seq of the latest)
  bool saga_open_ = false;     // PlanFailed with compensationDone false applied or decided
  bool saga_recorded_ = false; // PlanCompensated or CompensationFailed applied or decided
  bool saga_failed_ = false;   // ... and it was CompensationFailed: an operator may retry
  int saga_round_ = 0;         // retries accepted (CompensationRetryRequested)
  std::string asked_by_;       // PlanGenerated's askedBy
  struct decision {
    bool approve = false;
    std::string user, reason;
  };
  std::map<std::string, decision> submitted_; // ApprovalSubmitted accepted, not recorded yet
  std::optional<decision> cancel_;            // CancelRequested accepted (approve unused)
  bool cancel_recorded_ = false;              // TurnCancelled applied or decided
  int64_t started_ms_ = -1;   // PlanGenerated's time: the turn's wall-time budget starts there
  int64_t tokens_used_ = 0;   // LLM tokens the turn's records report
  double cost_usd_ = 0;       // those tokens priced per model

  void apply_one(const events::event& e);
  outcome<void> add_revision(const std::string& plan_json, int version);
  void decide_end(std::vector<events::payload>& out); // every step settled: complete, revise or fail
  void decide_new(int64_t now_ms, std::vector<events::payload>& out);
  void fail_if_stalled(int64_t now_ms); // turn-timeout: fails the waiting step and the plan
  // The saga after PlanFailed: waits for effects still in flight, then undoes each succeeded
  // effect step in reverse completion order, one at a time, then records how it ended.
  void decide_saga(int64_t now_ms, std::vector<events::payload>& out);
  /// Succeeded steps with a compensation, latest first: the order the saga undoes them in.
  std::vector<step_state*> saga_order();
  /// Effect steps still waiting for their result (their effect may happen yet).
  bool effects_in_flight() const;
  /// The saga's entries (events::plan_compensated): undone steps "done", a failed one "failed",
  /// the others `status_of_rest`, then effects whose outcome is unknown.
  std::string compensations_json(const std::string& status_of_rest) const;
  /// PlanCompensated or CompensationFailed folded: the saga is over.
  void end_saga(const std::string& compensations_json, bool failed);
  /// Why the turn's approvals and cancellation refuse `e` (refuses() for those types).
  std::optional<std::string> refuses_decision(const events::event& e) const;
  /// Whether `user` may approve a step or cancel the turn, and who may when not.
  std::optional<std::string> may_not_decide(const std::string& user) const;
  /// Why a ready step needs approval (its policy, its plan), or nullopt.
  std::optional<std::string> approval_needed(const step_state& s) const;
  /// Tokens and their cost from a record's usage ("tokens" of an LLM tool's result).
  void spend(int64_t tokens, const std::string& model);
  /// The budget the turn is past at `now_ms` (with `new_invocation`: before one more tool
  /// invocation), as the failure's reason.
  std::optional<std::string> over_budget(int64_t now_ms, bool new_invocation) const;
  /// Approval bookkeeping of a ready step: true when it may be requested now.
  bool approved_to_run(step_state& s, int64_t now_ms, std::vector<events::payload>& out);
};

} // namespace eventide::core
