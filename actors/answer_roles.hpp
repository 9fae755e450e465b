// The aggregator and synthesis roles: each keeps a small fold per conversation in one map
// (core/answer_folds.hpp; cheap enough not to need an actor per conversation) and emits what
// it decides: the aggregator the collected step results, synthesis the final answer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/fwd.hpp"
#include "providers/provider_config.hpp"

namespace eventide {

template <class Fold>
struct fold_role_state {
  std::unordered_map<std::string, Fold> folds;            // by turn_scope(conversation, turn)
  std::unordered_map<std::string, int32_t> partition_of; // of conversations in both sets
  std::unordered_set<std::string> done;                  // answered: later records are stale
  producer_actor producer;
  std::string source;
  bool live = false;
  static inline constexpr const char* name = "fold-role";
};

/// The aggregator (core::aggregation_fold).
role_actor spawn_aggregator(caf::actor_system& sys, producer_actor producer, std::string source);

/// The synthesis role (core::synthesis_fold): with a runtime through its LLM synthesis chain
/// (which falls back to the template; the role then runs detached, it blocks on HTTP), else
/// with the offline template synthesizer.
role_actor spawn_synthesis(caf::actor_system& sys, producer_actor producer, std::string source,
                           std::shared_ptr<providers::provider_runtime> runtime);

} // namespace eventide
