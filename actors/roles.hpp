// Spawn functions of the role actors, for the node and for actor tests that drive a single role
// on CAF's deterministic scheduler with a fake producer.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "actors/fwd.hpp"
#include "bridge/kv_store.hpp"
#include "core/plan_state.hpp"
#include "providers/planner.hpp"

namespace eventide {

/// The orchestrator registry: routes records by conversationId to per-conversation actors.
/// With a store, a live conversation is snapshotted before each record is acknowledged; restore
/// mode defers the snapshot to go-live, and the partition's coverage marker (cover_key) is off
/// meanwhile. Conversations are restored lazily; `partition_of_key` maps a conversation to its
/// partition.
orchestrator_actor spawn_orchestrator(caf::actor_system& sys, core::orchestration_policy policy,
                                      producer_actor producer, std::string source,
                                      std::shared_ptr<bridge::kv_store> store = nullptr,
                                      std::function<int32_t(const std::string&)> partition_of_key = nullptr,
                                      std::shared_ptr<std::atomic<bool>> live_flag = nullptr,
                                      int64_t passivate_after_ms = 0);

/// Store key of a partition's coverage marker: present while the store reflects the partition
/// up to the group's committed offset.
std::string cover_key(int32_t partition);

/// The router with the offline rule-based planner.
role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source);

} // namespace eventide
