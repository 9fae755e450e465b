// The router role: turns each UserQueryReceived into PlanGenerated or PlanningFailed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/fwd.hpp"
#include "storage/kv_store.hpp"
#include "core/outcome.hpp"
#include "providers/llm_planner.hpp"
#include "providers/planner.hpp"

namespace eventide {

/// Turns a question into a plan; fills `errors` with each provider's reason on failure.
using planner_fn = std::function<outcome<providers::planning_result>(
  const std::string& query, std::vector<std::string>& errors)>;

struct router_state {
  producer_actor producer;
  planner_fn planner;
  std::string source;
  // "p/<query event id>" -> the record answering it. A query delivered again (a crash or a
  // rebalance before the commit) is answered with the same bytes, never planned anew.
  std::shared_ptr<storage::kv_store> ledger;
  static inline constexpr const char* name = "router";
};

/// The router's behavior. With an LLM planner (it blocks on HTTP) spawn it detached.
role_actor::behavior_type router(role_actor::stateful_pointer<router_state> self,
                                 producer_actor producer, planner_fn planner,
                                 std::string source, std::shared_ptr<storage::kv_store> ledger);

/// The offline rule-based planner as a planner_fn (provider "offline", model "rule-based").
planner_fn offline_planner(providers::planner_context ctx);

/// The router with the offline rule-based planner.
role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source,
                        std::shared_ptr<storage::kv_store> ledger);

} // namespace eventide
