// Per-conversation folds of the aggregator and synthesis roles, in the same apply/decide shape
// as the orchestrator's conversation_state: apply() folds any event of the conversation
// (idempotent), decide() returns what the state implies that is not in the log yet. Both roles
// read their own output topic too, so a restart never emits a second command or answer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/events.hpp"

namespace eventide::core {

/// Aggregator: once the plan is terminal (PlanCompleted, PlanFailed or PlanningFailed), its saga
/// (if any) has ended and the query is known, asks for the final answer exactly once.
class aggregation_fold {
 public:
  void apply(const events::event& e);
  std::optional<events::payload> decide();
  bool done() const { return requested_; }

 private:
  std::optional<std::string> query_;
  int plan_version_ = 0;
  std::string plan_json_ = "null";  // every step of the turn: the plan and its revisions
  std::vector<std::string> decisions_; // each revision's rationale
  std::optional<events::synthesize_final_answer_requested> terminal_; // query filled by decide
  bool requested_ = false; // SynthesizeFinalAnswerRequested applied or decided
  bool saga_pending_ = false; // PlanFailed said effects are being undone
  bool saga_ended_ = false;   // PlanCompensated or CompensationFailed seen
  std::string compensations_json_; // its entries, for the answer
};

/// Synthesis: answers a SynthesizeFinalAnswerRequested once, unless an answer is already in the
/// log. `answer` computes the FinalAnswerSynthesized payload from the request.
class synthesis_fold {
 public:
  void apply(const events::event& e);
  std::optional<events::synthesize_final_answer_requested> pending() const;
  void mark_answered() { answered_ = true; }
  bool done() const { return answered_; }

 private:
  std::optional<events::synthesize_final_answer_requested> request_;
  bool answered_ = false;
};

/// Should a worker execute a request, given what its ledger recorded for the invocation id?
/// A recorded success or permanent error is final (answer with the record); a recorded
/// retryable error is re-executed only for a newer attempt.
struct ledger_entry {
  int attempt = 0;
  bool ok = false;
  bool retryable = false;
};
bool should_execute(const std::optional<ledger_entry>& recorded, int requested_attempt);

} // namespace eventide::core
