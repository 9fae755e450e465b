// The metrics projection: a fold over the log that yields what an operator asks of an agent
// runtime: end-to-end latency (question -> answer), per-tool latency (request -> result),
// per-role processing time (cause -> effect), events by type and topic, conversation outcomes
// and dead letters. Pure; `eventide stats` feeds it the whole log once, the metrics role
// (actors/metrics_role.hpp) keeps it running forever, so its memory is bounded.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "model/events.hpp"

namespace eventide::core {

/// A latency series. count and sum cover every sample ever taken (like a Prometheus summary);
/// the percentiles and max cover the `window` most recent ones.
struct latency_summary {
  size_t count = 0;
  double sum_ms = 0;
  size_t window = 0;
  double mean_ms = 0; // sum_ms / count
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
};

/// Nearest-rank percentiles of `samples` (ms); every sample counts and is in the window.
latency_summary summarize_latency(std::vector<double> samples);

struct metrics_report {
  latency_summary end_to_end;                      // UserQueryReceived -> FinalAnswerSynthesized
  std::map<std::string, latency_summary> per_tool; // first ToolInvocationRequested -> final result
  std::map<std::string, latency_summary> per_role; // causing event -> event the role produced
  std::map<std::string, size_t> events_by_type;
  std::map<std::string, size_t> events_by_topic;
  std::map<std::string, size_t> dead_letters_by_group;
  std::map<std::string, size_t> undecodable_by_topic; // records that are no event (or letter)
  std::map<std::string, size_t> causes_not_in_view;   // per role: effect folded, cause unknown
  size_t conversations = 0, answered = 0, failed = 0, open = 0; // answered includes failed
  size_t tool_errors = 0, retries = 0; // error results; requests beyond attempt 1
  size_t duplicates = 0; // records of an event id folded before (redelivery): not counted again
  size_t evicted = 0;    // unpaired entries dropped to stay within the memory bound
  double events_per_second = 0; // over the time span of the events seen
  int64_t first_ms = 0, last_ms = 0;
};

namespace detail {

/// A map that remembers insertion order and keeps at most `capacity` entries (0 = no limit):
/// inserting beyond it evicts the oldest entry, which put() returns.
template <class V>
class recent_map {
 public:
  explicit recent_map(size_t capacity = 0) : capacity_(capacity) {}

  V* find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }

  /// Inserts `key` (which must be absent); returns the evicted oldest entry, if any.
  std::optional<std::pair<std::string, V>> put(const std::string& key, V value) {
    order_.emplace_back(key, std::move(value));
    index_.emplace(key, std::prev(order_.end()));
    if (capacity_ == 0 || order_.size() <= capacity_)
      return std::nullopt;
    auto oldest = std::move(order_.front());
    index_.erase(oldest.first);
    order_.pop_front();
    return oldest;
  }

  void erase(const std::string& key) {
    if (auto it = index_.find(key); it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
  }

  size_t size() const { return order_.size(); }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, V>> order_;
  std::unordered_map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

} // namespace detail

class metrics_fold {
 public:
  /// `window`: latency samples kept per series for the percentiles, 0 = all of them.
  /// `recent`: event ids remembered (for the per-role cause lookup and to drop redelivered
  /// records) and unpaired entries kept (open conversations, requests without a result yet,
  /// and the other way round); 0 = no limit. The oldest goes first.
  explicit metrics_fold(size_t window = 0, size_t recent = 1 << 18);

  /// Folds one decoded record of `topic` (without prefix). Records of several topics may come
  /// in any interleaving: a result before its request, an answer before its question.
  void apply(const events::event& e, const std::string& topic);
  /// Counts a dead letter written by `group`.
  void dead_letter(const std::string& group);
  /// Counts a record of `topic` that is no event (or no dead letter on the DLQ topic).
  void undecodable(const std::string& topic);
  /// Events folded per topic so far (for rates).
  const std::map<std::string, size_t>& events_by_topic() const { return by_topic_; }
  metrics_report report() const;

 private:
  struct series {
    std::deque<double> recent;
    size_t count = 0;
    double sum = 0;
  };
  void sample(series& s, double ms);
  static latency_summary summarize(const series& s);
  void conversation_done(const std::string& id, int64_t asked_ms, int64_t answered_ms,
                         bool failed);
  void invocation_done(const std::string& id, const std::string& tool, int64_t requested_ms,
                       int64_t resulted_ms);

  size_t window_;
  // A conversation is kept from its first event (question or answer) until both are in view.
  struct conversation {
    int64_t asked_ms = -1, answered_ms = -1;
    bool failed = false;
  };
  detail::recent_map<conversation> conversations_;
  // An invocation is kept from its first request (or final result) until both are in view.
  struct invocation {
    std::string tool;
    int64_t requested_ms = -1, resulted_ms = -1;
  };
  detail::recent_map<invocation> invocations_;
  detail::recent_map<int64_t> ids_;  // recent event id -> its time
  detail::recent_map<char> finished_; // "c/<conv>", "i/<invocation>": sampled, late records ignored
  series end_to_end_;
  std::map<std::string, series> tools_, roles_;
  std::map<std::string, size_t> by_type_, by_topic_, dead_letters_, undecodable_, no_cause_;
  size_t asked_ = 0, answered_ = 0, failed_ = 0, open_ = 0;
  size_t tool_errors_ = 0, retries_ = 0, events_ = 0, duplicates_ = 0, evicted_ = 0;
  int64_t first_ms_ = 0, last_ms_ = 0;
};

/// "router" for the source "eventide/router/node-1"; "" for any other shape.
std::string role_of_source(const std::string& source);

/// Events per second per topic over a trailing window, from samples of cumulative counters.
class rate_window {
 public:
  /// window_ms <= 0 keeps every sample (the rate over everything sampled).
  explicit rate_window(int64_t window_ms = 0) : window_ms_(window_ms) {}
  /// Adds the counters as of `now_ms`; samples older than the window go, except the newest of
  /// them, so the rate spans the whole window once it has filled.
  void add(int64_t now_ms, const std::map<std::string, size_t>& totals);
  /// (newest - oldest kept) / elapsed seconds per topic of the newest sample; 0 with fewer than
  /// two samples or no time between them.
  std::map<std::string, double> per_second() const;

 private:
  int64_t window_ms_;
  std::deque<std::pair<int64_t, std::map<std::string, size_t>>> samples_;
};

/// The report as one JSON object (`eventide stats --json` and the metrics role's report):
/// outcomes, latency series, counts, plus consumer lag per group (groups that never committed
/// are left out) and events/s per topic.
json::document metrics_json(const metrics_report& r, const std::map<std::string, int64_t>& lag,
                            const std::map<std::string, double>& events_per_second_by_topic);

} // namespace eventide::core
