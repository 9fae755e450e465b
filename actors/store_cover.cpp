#include "actors/store_cover.hpp"

#include "actors/logging.hpp"

namespace eventide {

std::string cover_key(int32_t partition) {
  return "cover/" + std::to_string(partition);
}

bool take_cover(storage::kv_store& store, int32_t partition) {
  auto c = store.get(cover_key(partition));
  if (!c || !*c)
    return false;
  if (auto r = store.write({}, {cover_key(partition)}); !r) {
    // The stale marker stays: a store that cannot take this write cannot take snapshots
    // either, and must be deleted (the node rebuilds it from the log).
    EV_LOG(error) << "cannot clear store coverage of partition " << partition << ": "
                  << r.error() << "; the store is failing: stop the node and delete it";
    return false;
  }
  return true;
}

outcome<void> mark_cover(storage::kv_store& store, const std::vector<int32_t>& partitions,
                         bool covered) {
  if (!covered) {
    std::vector<std::string> keys;
    for (auto p : partitions)
      keys.push_back(cover_key(p));
    return store.write({}, keys);
  }
  std::vector<std::pair<std::string, std::string>> marks;
  for (auto p : partitions)
    marks.emplace_back(cover_key(p), "1");
  return store.put(marks);
}

} // namespace eventide
