// Follow-up questions (issue 15, item 3): "and in GBP?", "what about the Nimbus Pro?", "and in
// Rome?", "for 3 of them?", "with 10% off?", "is it cheaper than the Aurora X1?" mean nothing
// alone. The router rewrites them from the conversation's memory into the standalone question
// the offline planner plans, and records it (PlanGenerated.resolvedQuery) so that the next
// follow-up builds on it.
#pragma once

#include <optional>
#include <string>

#include "providers/planner.hpp"

namespace eventide::providers {

/// `question` as a standalone question, given the standalone question of the previous turn
/// (`previous`, empty on the first turn); nullopt when it stands alone (or nothing in it can
/// be resolved). Entities are taken as written: a product or currency the catalog lacks stays
/// what the user said, and the planner says it is unknown.
std::optional<std::string> resolve_follow_up(const std::string& question,
                                             const std::string& previous,
                                             const planner_context& ctx);

} // namespace eventide::providers
