// The router role: turns each UserQueryReceived into PlanGenerated or PlanningFailed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "actors/fwd.hpp"
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
  static inline constexpr const char* name = "router";
};

/// The router's behavior. With an LLM planner (it blocks on HTTP) spawn it detached.
role_actor::behavior_type router(role_actor::stateful_pointer<router_state> self,
                                 producer_actor producer, planner_fn planner,
                                 std::string source);

/// The router with the offline rule-based planner.
role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source);

} // namespace eventide
