// The router role: plans each turn of a conversation (UserQueryReceived) into PlanGenerated or
// PlanningFailed, and answers the orchestrator's PlanRevisionRequested with PlanRevised, in turn
// order, from a memory of the conversation folded from the log
// (core/conversation_memory.hpp): turn n + 1 is planned once turn n is answered, and a
// follow-up is resolved from the turns before it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/fwd.hpp"
#include "storage/kv_store.hpp"
#include "core/conversation_memory.hpp"
#include "core/outcome.hpp"
#include "providers/llm_planner.hpp"
#include "providers/planner.hpp"
#include "providers/revise.hpp"

namespace eventide {

/// Turns a question into a plan, given the conversation's answered turns before it (oldest
/// first); fills `errors` with each provider's reason on failure.
using planner_fn = std::function<outcome<providers::planning_result>(
  const std::string& query, const std::vector<const core::turn_memory*>& history,
  std::vector<std::string>& errors)>;

/// The revision of a turn's plan (DESIGN §14): steps to add or finish, from the question and
/// what the steps observed; fills `errors` with each provider's reason on failure.
using reviser_fn = std::function<outcome<providers::revision_result>(
  const providers::revision_input& in, std::vector<std::string>& errors)>;

/// A follow-up as the standalone question it stands for, given the previous turn's standalone
/// question; nullopt when it stands alone (providers/follow_up.hpp).
using follow_up_fn =
  std::function<std::optional<std::string>(const std::string& question, const std::string& previous)>;

/// What a router is spawned with.
struct router_config {
  producer_actor producer;
  planner_fn planner;
  follow_up_fn follow_up; // null: every question stands alone
  reviser_fn reviser;     // null: a revision finishes the turn
  std::string source;
  std::shared_ptr<storage::kv_store> store; // router_state::ledger
  size_t memory_turns = 8; // answered turns each conversation's memory keeps
};

struct router_state {
  producer_actor producer;
  planner_fn planner;
  follow_up_fn follow_up; // null: every question stands alone
  reviser_fn reviser;
  std::string source;
  size_t max_turns = 8;   // answered turns each conversation's memory keeps
  bool live = false;      // until the bridge says the partitions are restored (replayed)
  std::unordered_map<std::string, core::conversation_memory> memories; // by conversation
  std::unordered_map<std::string, int32_t> partition_of;               // of remembered conversations
  std::unordered_set<std::string> unsaved; // folded in restore mode, snapshot deferred to go-live
  std::vector<int32_t> assigned;           // the partitions of the last go-live
  // Turns planned by this run whose plan is not back from the log yet (by query id): another
  // record of the conversation must not publish them again.
  std::unordered_set<std::string> decided;
  // Revision requests read while restoring, by request id, answered at go-live unless their
  // PlanRevised is read first.
  std::unordered_map<std::string, events::event> pending_revisions;
  // The router's store. "p/<query event id>" (and "r/<revision request id>") -> the record
  // answering it: a query (or request) delivered
  // again (a crash or a rebalance before the commit) is answered with the same bytes, never
  // planned anew. "m/<conversation>" -> its memory's snapshot, written before a record is
  // acknowledged (in restore mode at go-live), and cover_key(p) (actors/store_cover.hpp).
  std::shared_ptr<storage::kv_store> ledger;
  static inline constexpr const char* name = "router";
};

/// The router's behavior. With an LLM planner (it blocks on HTTP) spawn it detached.
role_actor::behavior_type router(role_actor::stateful_pointer<router_state> self,
                                 router_config cfg);

/// The offline reviser (providers/revise.hpp) against the loaded catalog.
reviser_fn offline_reviser(providers::planner_context ctx);

/// Offline follow-up resolution against the loaded catalog.
follow_up_fn offline_follow_ups(providers::planner_context ctx);

/// The offline rule-based planner as a planner_fn (provider "offline", model "rule-based").
planner_fn offline_planner(providers::planner_context ctx);

/// The router with the offline rule-based planner and follow-ups.
role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source,
                        std::shared_ptr<storage::kv_store> store, size_t memory_turns = 8);

} // namespace eventide
