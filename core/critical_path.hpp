// The critical path of an executed plan: the dependency chain whose steps' durations add up to
// the longest time, i.e. the chain that bounded the plan's latency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace eventide::core {

struct timed_step {
  std::string id;
  std::vector<std::string> depends_on;
  int64_t duration_ms = 0; // request -> result
};

/// Step ids along the critical path, first to last. Steps are in plan order (dependencies
/// first, as parse_plan guarantees). Among equally long chains the one ending later in the plan
/// wins, so a final zero-duration step still shows.
std::vector<std::string> critical_path(const std::vector<timed_step>& steps);

} // namespace eventide::core
