// Coverage markers of a role's snapshot store (orchestrator, router): "cover/<p>" says the store
// reflects partition p up to the group's committed offset, so a restore may start there instead
// of at offset 0. Restore mode defers snapshots to go-live; until they are written the marker
// is off, and a crash in between replays the partition from the start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/kv_store.hpp"

namespace eventide {

/// The key of partition `partition`'s marker.
std::string cover_key(int32_t partition);

/// For consumer_bridge_config::store_covers: whether `store` covers `partition`. The marker is
/// taken away at once (the role writes it back at go-live); a store that cannot take that write
/// is not trusted.
bool take_cover(storage::kv_store& store, int32_t partition);

/// Sets (`covered`) or clears the markers of `partitions`.
outcome<void> mark_cover(storage::kv_store& store, const std::vector<int32_t>& partitions,
                         bool covered);

} // namespace eventide
