// Counts tool runs where they happen: providers::tool::run appends "<tool> <invocationId>
// <attempt>" to the file EVENTIDE_EFFECT_LOG names, outside any worker ledger. Shared by the
// actor and e2e tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace eventide::testing {

/// Points EVENTIDE_EFFECT_LOG at a fresh file for its lifetime: every tool run of this process
/// appends a line there (providers::tool::run), so tests count runs where they happen.
class effect_log {
 public:
  explicit effect_log(const std::string& path) : path_(path) {
    std::filesystem::remove(path_);
    ::setenv("EVENTIDE_EFFECT_LOG", path_.c_str(), 1);
  }
  ~effect_log() { ::unsetenv("EVENTIDE_EFFECT_LOG"); }
  effect_log(const effect_log&) = delete;
  effect_log& operator=(const effect_log&) = delete;

  /// How often the tool of `invocation_id` ran (all attempts).
  size_t runs(const std::string& invocation_id) const {
    std::ifstream in(path_);
    std::string tool, id, attempt;
    size_t n = 0;
    while (in >> tool >> id >> attempt)
      n += id == invocation_id;
    return n;
  }

  /// Every line so far, "<tool> <invocationId> <attempt>", in order.
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }

 private:
  std::string path_;
};

} // namespace eventide::testing
