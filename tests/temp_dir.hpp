// A fresh directory under /tmp, removed with everything in it when the object goes away. Shared
// by the unit, contract, actor and e2e tests and the benchmarks.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace eventide::testing {

struct temp_dir {
  std::string path;

  explicit temp_dir(const std::string& name = "eventide-test") {
    std::string pattern = "/tmp/" + name + ".XXXXXX";
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("cannot create a directory like " + pattern);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace eventide::testing
