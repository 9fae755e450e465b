// The orchestrator role: a registry that routes records by conversationId to one actor per
// live conversation (actors/conversation.hpp), which folds them and emits what they imply.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/conversation.hpp"
#include "actors/fwd.hpp"
#include "storage/kv_store.hpp"
#include "core/plan_state.hpp"

namespace eventide {

struct orchestrator_state {
  std::shared_ptr<storage::kv_store> store; // null: no snapshots, restore replays everything
  std::function<int32_t(const std::string&)> partition_of_key; // conversation -> partition
  std::shared_ptr<std::atomic<bool>> live_flag; // observed by the node (benchmarks, health)
  std::unordered_map<std::string, conversation_actor> conversations;
  std::unordered_set<std::string> finished; // passivated conversations: later records are stale
  std::unordered_map<std::string, int32_t> partition_of; // of live conversations
  std::unordered_map<std::string, uint64_t> delegated; // records sent to each live actor
  // wake-up time -> a running conversation only in the store (passivated, or left there by
  // going live)
  std::multimap<int64_t, std::string> sleeping;
  int64_t tick_at = 0;                          // scheduled registry tick, 0 = none
  int64_t passivate_after_ms = 0;
  core::orchestration_policy policy;
  uint64_t policy_fingerprint = 0;
  producer_actor producer;
  std::string source;
  // This registry's run: snapshots name it, so that a restart can tell the decisions an
  // earlier run left unlogged (core::conversation_state::decide()).
  std::string session;
  bool live = false;
  std::vector<int32_t> assigned; // partitions of the last go-live
  static inline constexpr const char* name = "orchestrator";

  ~orchestrator_state() {
    for (auto& [id, a] : conversations)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

using orchestrator_ptr = orchestrator_actor::stateful_pointer<orchestrator_state>;

/// The registry's behavior (spawn it with spawn_orchestrator, which fills in the defaults).
orchestrator_actor::behavior_type
orchestrator(orchestrator_ptr self, core::orchestration_policy policy, producer_actor producer,
             std::string source, std::shared_ptr<storage::kv_store> store,
             std::function<int32_t(const std::string&)> partition_of_key,
             std::shared_ptr<std::atomic<bool>> live_flag, int64_t passivate_after_ms);

/// The orchestrator registry: routes records by conversationId to per-conversation actors.
/// With a store, a live conversation is snapshotted before each record is acknowledged; restore
/// mode defers the snapshot to go-live, and the partition's coverage marker (cover_key) is off
/// meanwhile. Conversations are restored lazily: on their next record, or when their stored
/// wake hint comes (core/wake_hint.hpp); going live loads only those due now. `partition_of_key`
/// maps a conversation to its partition.
orchestrator_actor spawn_orchestrator(caf::actor_system& sys, core::orchestration_policy policy,
                                      producer_actor producer, std::string source,
                                      std::shared_ptr<storage::kv_store> store = nullptr,
                                      std::function<int32_t(const std::string&)> partition_of_key = nullptr,
                                      std::shared_ptr<std::atomic<bool>> live_flag = nullptr,
                                      int64_t passivate_after_ms = 0);

} // namespace eventide
