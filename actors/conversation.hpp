// One conversation's actor of the orchestrator role: the registry (actors/orchestrator.hpp)
// spawns it per turn with the fold it restored; it folds the turn's records
// (core::conversation_state), emits what they imply and keeps its snapshot in the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/fwd.hpp"
#include "core/plan_state.hpp"
#include "storage/kv_store.hpp"

namespace eventide {

struct conversation_actor_state {
  std::unique_ptr<core::conversation_state> fold;
  std::shared_ptr<storage::kv_store> store; // snapshots; null = no store (state only in memory)
  producer_actor producer;
  caf::actor registry;
  std::string source;
  bool live = false;
  size_t publishing = 0;  // emits not yet durable
  // Emits waiting for a snapshot that includes them: see emit_finished (conversation.cpp).
  std::vector<std::function<void(const caf::error&)>> awaiting_snapshot;
  int64_t wakeup_at = 0;  // pending tick, 0 = none
  std::string last_event; // id of the last folded event: the cause of emits on live/timer
  int64_t passivate_after_ms = 0; // idle time before leaving memory; 0 = never (no store)
  caf::actor_clock::time_point last_active{}; // of the latest record or timer (idle check)
  bool idle_check_pending = false;            // one idle check at a time
  uint64_t records = 0;           // records handled by this actor
  bool dirty = false;             // restore mode folded records the store does not have yet
  bool passivated = false;
  uint64_t policy_fingerprint = 0; // stored with each snapshot's wake hint (core/wake_hint.hpp)
  static inline constexpr const char* name = "conversation";
};

using conversation_ptr = conversation_actor::stateful_pointer<conversation_actor_state>;

/// One conversation's actor, spawned by the registry with the fold it restored (or a new one).
conversation_actor::behavior_type
conversation(conversation_ptr self, std::shared_ptr<core::conversation_state> fold,
             std::shared_ptr<storage::kv_store> store, producer_actor producer,
             caf::actor registry, std::string source, bool live, int64_t passivate_after_ms,
             uint64_t policy_fingerprint);

} // namespace eventide
