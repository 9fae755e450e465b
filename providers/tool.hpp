// A tool implementation: args JSON in, result JSON (or a classified error) out. Tools are plain
// C++ and may block (HTTP); the worker actor runs them off the scheduler. Offline tools compute
// real answers from bundled data and say so in their result ("offline": true, "source": ...).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace eventide::providers {

struct tool_output {
  bool ok = true;
  std::string result_json = "null"; // object when ok
  std::string error;                // when !ok
  bool retryable = false;           // transient (timeout, 5xx) vs permanent (bad args)

  static tool_output success(std::string json) { return {true, std::move(json), {}, false}; }
  static tool_output permanent_error(std::string why) { return {false, "null", std::move(why), false}; }
  static tool_output transient_error(std::string why) { return {false, "null", std::move(why), true}; }
};

class tool {
 public:
  virtual ~tool() = default;
  /// The catalog name, e.g. "math".
  virtual std::string name() const = 0;
  /// Runs the tool. Must not throw; bad args are a permanent error with a clear reason.
  virtual tool_output invoke(const std::string& args_json) = 0;
  /// Whether invoke() may wait on I/O (HTTP): then it runs in a detached actor. Tools that only
  /// compute say false and run on the scheduler.
  virtual bool may_block() const { return true; }
};

/// Where bundled data lives: $EVENTIDE_HOME if set, else the source tree the binary was built
/// from. Holds products/, config/, prompts/, schemas/.
std::string resource_root();

} // namespace eventide::providers
