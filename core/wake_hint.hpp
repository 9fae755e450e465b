// What a stored conversation needs without a record: the orchestrator keeps it next to the
// snapshot ("w/<turn scope>"), so that going live can leave a conversation in the store until
// its record or its time comes, instead of loading every running one (README, design notes:
// a restart loads what is due).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/plan_state.hpp"

namespace eventide::core {

/// A hash of everything in the policy that decides when and what a conversation decides
/// without a record (timeouts, backoff, attempts, budgets, approvals). A restart with another
/// policy loads every stored conversation at go-live, as a restart always did before.
/// (usd_value, a function of the shop's rates, is left out: it only prices a step that becomes
/// ready, which a record or a wake-up causes.)
uint64_t policy_fingerprint(const orchestration_policy& p);

struct wake_hint {
  /// When decide() may next return something without a record (0: at once); nullopt: only a
  /// record wakes it.
  std::optional<int64_t> at;
  uint64_t policy = 0; // policy_fingerprint() of the run that stored it
};

/// The hint of a fold as stored: decisions still unlogged are due at once (a restart in
/// another session repeats them), else its next_wakeup().
wake_hint wake_hint_of(const conversation_state& fold, uint64_t policy);

/// "<policy hex>/<at>" or "<policy hex>/-".
std::string encode(const wake_hint& h);
std::optional<wake_hint> decode_wake_hint(std::string_view text);

/// What going live does with a running conversation that is only in the store.
enum class go_live_load {
  now,       // load it and let it decide (no hint, another policy, or due)
  at_wake,   // leave it in the store; the registry loads it at hint.at
  on_record, // leave it in the store until a record comes
};
go_live_load go_live_action(const std::optional<wake_hint>& hint, uint64_t policy, int64_t now_ms);

} // namespace eventide::core
