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
  /// Runs the tool for invocation `invocation_id`. Tools with effects (the shop's) send the id
  /// as the Idempotency-Key of what they change, so a re-run of the same invocation (a retry, a
  /// worker killed after the effect and before its ledger write) has the effect once. Others
  /// ignore it.
  virtual tool_output invoke_for(const std::string& invocation_id, const std::string& args_json) {
    (void) invocation_id;
    return invoke(args_json);
  }
  /// Whether invoke() may wait on I/O (HTTP): then it runs in a detached actor. Tools that only
  /// compute say false and run on the scheduler.
  virtual bool may_block() const { return true; }

  /// Runs invoke() for one attempt of an invocation. When EVENTIDE_EFFECT_LOG names a file,
  /// the run is also appended to it as one line "<tool> <invocationId> <attempt>": a record of
  /// the effect kept outside the worker's ledger, written the moment the effect happened, so
  /// tests count executions where they happen. (A crash after the effect and before the ledger
  /// write shows there as a second line for the same attempt.)
  tool_output run(const std::string& invocation_id, int attempt, const std::string& args_json);
};

/// Where bundled data lives: $EVENTIDE_HOME if set, else the source tree the binary was built
/// from. Holds products/, config/, prompts/, schemas/.
std::string resource_root();

} // namespace eventide::providers
