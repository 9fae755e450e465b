// The event fixtures of tests/fixtures/events/<Schema>/ and how the schema tests read them
// (codec_test.cpp, validation_test.cpp).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace eventide::testing {

namespace fs = std::filesystem;

inline const fs::path fixtures_root = fs::path(EVENTIDE_FIXTURES) / "events";

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// `s` without the line ends a fixture file closes with.
inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

/// The fixtures of `dir` whose names start with `prefix` ("valid-", "invalid-"), sorted.
inline std::vector<fs::path> fixtures(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir))
    return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0 && entry.path().extension() == ".json")
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace eventide::testing
