// Spawn functions of the role actors, for the node and for actor tests that drive a single role
// on CAF's deterministic scheduler with a fake producer.
#pragma once

#include <string>

#include "actors/fwd.hpp"
#include "core/plan_state.hpp"
#include "providers/planner.hpp"

namespace eventide {

/// The orchestrator registry: routes records by conversationId to per-conversation actors.
orchestrator_actor spawn_orchestrator(caf::actor_system& sys, core::orchestration_policy policy,
                                      producer_actor producer, std::string source);

/// The router with the offline rule-based planner.
role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source);

} // namespace eventide
