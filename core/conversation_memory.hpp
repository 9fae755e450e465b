// The router's memory of one conversation (DESIGN §13, issue 15): a fold of the log, bounded to
// the last N answered turns, that says which turn may be planned next and what the earlier
// turns asked, resolved, found and answered (follow-ups are resolved from it). No other store:
// a replay of the conversation's records rebuilds it, and snapshot()/restore() carry it over
// restarts.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "model/events.hpp"

namespace eventide::core {

enum class turn_status { asked, planned, answered };
const char* to_string(turn_status s);

struct turn_memory {
  int turn = 0;
  std::string question;     // as asked (UserQueryReceived)
  std::string query_id;     // the question's event id: the router ledger's key
  std::string asked_by;     // the question's userId (PlanGenerated askedBy: who may approve)
  std::string resolved;     // the standalone question planned (PlanGenerated.resolvedQuery or the question)
  std::string plan_json;    // every step of the turn (its plan and revisions); empty when planning failed
  int plan_version = 0;     // of the latest PlanGenerated / PlanRevised folded
  std::string results_json; // PlanCompleted / PlanFailed results; empty until then
  std::string answer;       // FinalAnswerSynthesized
  bool failed = false;      // planning or the plan failed
  turn_status status = turn_status::asked;
};

class conversation_memory {
 public:
  /// `max_turns`: answered turns kept (at least 1); older ones are forgotten.
  explicit conversation_memory(std::string conversation_id, size_t max_turns = 8);

  /// Folds one record of this conversation. Idempotent (a record again changes nothing).
  /// Refuses, without changing anything, a question that skips a turn (turn n + 2 before
  /// n + 1 was asked) or that asks a turn again with other words: the router dead-letters it.
  outcome<void> apply(const events::event& e);
  /// Whether apply() reads records of this type (others change nothing).
  static bool folds(const events::payload& p);

  /// The turn to plan now: the first turn not answered, once it was asked and not yet planned.
  /// Turn n + 1 waits for the answer of turn n even when it was asked earlier.
  const turn_memory* next_to_plan() const;

  /// The answered turns before `turn` still remembered, oldest first (the planner's context).
  std::vector<const turn_memory*> history_before(int turn) const;

  const turn_memory* find(int turn) const;
  const std::string& conversation_id() const { return conversation_id_; }
  /// The highest turn asked (0: none).
  int last_asked() const { return last_asked_; }
  /// Every turn up to this one is answered and may be forgotten.
  int answered_through() const { return answered_through_; }

  /// Canonical text of the fold; equal digests mean equal memories (replay test).
  std::string digest() const;
  /// Compact JSON for the router's store; restore(snapshot()) has the same digest.
  std::string snapshot() const;
  static outcome<conversation_memory> restore(std::string conversation_id, size_t max_turns,
                                              std::string_view snapshot);

 private:
  turn_memory* get(int turn);
  void forget_old();

  std::string conversation_id_;
  size_t max_turns_;
  int last_asked_ = 0;
  int answered_through_ = 0;
  std::map<int, turn_memory> turns_;
};

} // namespace eventide::core
