#include "core/critical_path.hpp"

#include <algorithm>
#include <map>

namespace eventide::core {

std::vector<std::string> critical_path(const std::vector<timed_step>& steps) {
  // Longest path in a DAG given in topological order: finish(s) = duration(s) + max finish(dep).
  std::map<std::string, int64_t> finish;
  std::map<std::string, std::string> via;
  const timed_step* last = nullptr;
  for (auto& s : steps) {
    int64_t best = 0;
    std::string from;
    for (auto& d : s.depends_on) {
      auto it = finish.find(d);
      if (it != finish.end() && (from.empty() || it->second > best)) {
        best = it->second;
        from = d;
      }
    }
    finish[s.id] = best + s.duration_ms;
    if (!from.empty())
      via[s.id] = from;
    if (!last || finish[s.id] >= finish[last->id]) // on a tie the later step ends the path
      last = &s;
  }
  std::vector<std::string> path;
  if (!last)
    return path;
  for (std::string cur = last->id;;) {
    path.push_back(cur);
    auto it = via.find(cur);
    if (it == via.end())
      break;
    cur = it->second;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

} // namespace eventide::core
