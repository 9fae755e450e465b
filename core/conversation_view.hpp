// Conversations as the console shows them (docs/http-api.md), folded from their records: a
// summary per conversation for the live list, and the full view of one conversation (turns,
// plans, steps with timings, critical path, approvals, raw events). Pure: no log, no actors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/outcome.hpp"
#include "model/events.hpp"

namespace eventide::core {

enum class conversation_status { running, waiting, answered, failed, cancelled };

std::string_view to_string(conversation_status s);
/// "running", ... ; nullopt for any other text.
std::optional<conversation_status> parse_conversation_status(std::string_view text);

/// An approval request of a step with no decision yet.
struct pending_step_approval {
  std::string conversation;
  int turn = 1;
  std::string step, tool, args_json, reason;
  int64_t expires_at = 0;
  int64_t requested_at = 0;
};

/// One conversation as the list shows it. Records may come in any order across topics (the
/// question on user-commands, its plan on conversation-events): each fold is order-free enough
/// for the list (per turn; a duplicate record changes nothing but the record count).
struct conversation_summary {
  struct turn {
    std::string question;
    int64_t asked_at = 0;
    std::optional<int64_t> answered_at;
    bool failed = false, cancelled = false, planning_failed = false;
    int plan_version = 0;   // the highest version seen
    size_t plan_steps = 0;  // steps of every version up to plan_version
    std::set<int> versions; // versions counted in plan_steps
    std::map<std::string, pending_step_approval> approvals; // pending, by step
    std::set<std::string> decided;                          // steps with a decision
  };
  std::string id;
  int64_t started_at = 0, updated_at = 0;
  size_t events = 0;
  std::map<int, turn> turns;

  /// The latest turn's state; "running" before any question is seen.
  conversation_status state() const;
  const turn* latest() const;
  /// Folds one record of the conversation (its time is ev.time_ms).
  void apply(const events::event& ev);
};

/// Every conversation's summary, folded live; lists them newest first.
class conversation_index {
 public:
  /// Folds one record; returns its conversation's summary (changed by it).
  const conversation_summary& apply(const events::event& ev);

  struct page {
    std::vector<const conversation_summary*> items;
    size_t total = 0;            // conversations matching the filter
    std::optional<std::string> next; // cursor of the next page, if any
  };
  /// Newest first (by started_at, then id), `limit` of them after `cursor` ("" = from the
  /// newest); fails on a cursor that is not one this index gave out.
  outcome<page> list(std::optional<conversation_status> state, size_t limit,
                     const std::string& cursor) const;
  const conversation_summary* find(const std::string& id) const;
  /// Approvals waiting for a person in turns that have not ended, oldest first.
  std::vector<pending_step_approval> pending_approvals() const;
  size_t size() const { return by_id_.size(); }

 private:
  std::unordered_map<std::string, conversation_summary> by_id_;
  std::set<std::pair<int64_t, std::string>> by_start_; // ascending; listed from the end
};

/// A record of one conversation with its place in the log.
struct located_event {
  std::string topic; // without the deployment's prefix
  int32_t partition = 0;
  int64_t offset = 0;
  events::event ev;
  std::string raw; // the record's value (JSON)
};

struct step_view {
  std::string id, tool;
  std::vector<std::string> depends_on;
  std::optional<int64_t> requested_at, resulted_at;
  std::string status = "planned"; // planned | running | done | failed
  int attempts = 0;
  std::string error;
};

struct approval_view {
  std::string step, tool, reason;
  int64_t expires_at = 0;
  std::string decision = "pending"; // pending | granted | denied
};

struct turn_view {
  int turn = 1;
  std::string question, resolved_query, answer;
  std::optional<int64_t> asked_at, answered_at;
  bool failed = false, cancelled = false;
  std::optional<events::plan_generated> plan; // its latest version, revisions merged in
  std::vector<std::string> revisions;         // "v2 by offline/rule-based: <rationale>"
  std::vector<step_view> steps;               // plan order
  std::vector<std::string> critical_path;
  std::vector<approval_view> approvals;
};

struct conversation_view {
  conversation_summary summary;
  std::vector<turn_view> turns;       // by turn number
  std::vector<located_event> events;  // trace order: by time, a cause before its effects
};

/// The view of one conversation from all of its records (any order).
conversation_view build_conversation_view(const std::string& id, std::vector<located_event> events);

/// JSON of docs/http-api.md: a list entry, one conversation, its raw events, approvals.
std::string summary_json(const conversation_summary& s);
std::string conversation_json(const conversation_view& v);
std::string events_json(const conversation_view& v);
std::string approvals_json(const std::vector<pending_step_approval>& pending);

} // namespace eventide::core
