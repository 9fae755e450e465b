// The metrics projection: a fold over the log that yields what an operator asks of an agent
// runtime: end-to-end latency (question -> answer), per-tool latency (request -> result),
// events by type and topic, throughput, conversation outcomes and dead letters. Pure; the
// `eventide stats` command (and later a metrics role) feeds it records.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "schemas/events.hpp"

namespace eventide::core {

struct latency_summary {
  size_t count = 0;
  double mean_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
};

/// Nearest-rank percentiles of `samples` (ms).
latency_summary summarize_latency(std::vector<double> samples);

struct metrics_report {
  latency_summary end_to_end;                      // UserQueryReceived -> FinalAnswerSynthesized
  std::map<std::string, latency_summary> per_tool; // ToolInvocationRequested -> first result
  std::map<std::string, size_t> events_by_type;
  std::map<std::string, size_t> events_by_topic;
  std::map<std::string, size_t> dead_letters_by_group;
  size_t conversations = 0, answered = 0, failed = 0, open = 0;
  size_t tool_errors = 0, retries = 0; // error results; requests beyond attempt 1
  double events_per_second = 0;        // over the time span of the events seen
  int64_t first_ms = 0, last_ms = 0;
};

class metrics_fold {
 public:
  /// Folds one decoded record of `topic`.
  void apply(const events::event& e, const std::string& topic);
  /// Counts a dead letter written by `group`.
  void dead_letter(const std::string& group);
  metrics_report report() const;

 private:
  struct conversation {
    int64_t asked_ms = -1, answered_ms = -1;
    bool failed = false;
  };
  std::unordered_map<std::string, conversation> conversations_;
  // Per invocation: first request and first final result, paired in report(). Records of two
  // topics may be folded in either order, so neither side waits for the other.
  struct invocation {
    std::string tool;
    int64_t requested_ms = -1, resulted_ms = -1;
  };
  std::unordered_map<std::string, invocation> invocations_;
  std::map<std::string, size_t> by_type_, by_topic_, dead_letters_;
  size_t tool_errors_ = 0, retries_ = 0, events_ = 0;
  int64_t first_ms_ = 0, last_ms_ = 0;
};

} // namespace eventide::core
