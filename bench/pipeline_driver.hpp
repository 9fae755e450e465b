// What pipeline_bench's parts share (bench/pipeline_bench.cpp, console_load.cpp,
// components.cpp): percentiles, a reader from a topic's end, the scenarios, and the driver that
// asks questions and follows their answers.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/bridges.hpp"
#include "actors/node.hpp"
#include "schemas/codec.hpp"
#include "storage/log.hpp"

namespace eventide::bench {

using clock_type = std::chrono::steady_clock;

struct stats {
  double p50, p95, p99, mean;
};

inline stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  double sum = 0;
  for (auto x : v)
    sum += x;
  return {at(0.50), at(0.95), at(0.99), sum / v.size()};
}

inline double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

[[noreturn]] inline void die(const std::string& what) {
  throw std::runtime_error(what);
}

// Reads every partition of `topic` from its current end.
inline std::unique_ptr<storage::consumer> tail(storage::log& log, const std::string& topic) {
  auto parts = log.partition_count(topic);
  if (!parts)
    die(parts.error());
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (int32_t p = 0; p < *parts; ++p) {
    storage::topic_partition tp{topic, p};
    auto wm = log.query_watermarks(tp);
    if (!wm)
      die(wm.error());
    start.emplace_back(tp, wm->high);
  }
  auto c = log.assign(start);
  if (!c)
    die(c.error());
  return std::move(*c);
}

struct scenario {
  const char* name;
  const char* question;
  int steps;
  int hops; // sequential log hops from question to answer
};

// Hops: query -> plan -> (request -> result) per sequential stage -> completed ->
// synthesize -> answer. Parallel steps share a stage.
inline const scenario scenarios[] = {
  {"1-step (math)", "What is 15% of 240 plus 3^2?", 1, 6},
  {"3-step (product -> exchange -> math)",
   "How much does the Aurora X1 cost in EUR including 19% VAT?", 3, 10},
  {"5-step (2 products -> 2 conversions -> math)",
   "How much more expensive is the Nimbus Pro than the Aurora X1 in GBP?", 5, 10},
};

// Writes questions and follows the answers on one long-lived consumer, so the measurement is
// the pipeline's and not the cost of setting up a reader per question.
class driver {
 public:
  driver(storage::log& log, const topics& names, const std::string& run)
    : log_(log), names_(names), run_(run) {
    follow_ = tail(log, names.conversation_events);
  }

  void ask(const std::string& id, const char* question) {
    events::event q;
    q.subject = id;
    q.id = id + "/query";
    q.source = "bench";
    q.time_ms = now_ms();
    q.data = events::user_query_received{id, "bench", question, q.time_ms};
    auto bytes = events::encode(q);
    if (!bytes)
      die(bytes.error());
    log_.produce(names_.user_commands, id, *bytes, [](outcome<storage::position> r) {
      if (!r)
        die(r.error());
    });
  }

  // Calls on_answer(conversation) for every answer until `until` returns true.
  template <class OnAnswer, class Until>
  size_t follow(OnAnswer on_answer, Until until) {
    size_t events = 0;
    auto idle_since = clock_type::now();
    while (!until()) {
      log_.serve(std::chrono::milliseconds(0));
      auto b = follow_->poll(512, std::chrono::milliseconds(5));
      if (!b)
        die(b.error());
      if (b->empty() && ms_since(idle_since) > 30000)
        die("no answer within 30 s (run " + run_ + ")");
      for (auto& rec : *b) {
        idle_since = clock_type::now();
        ++events;
        if (watch)
          watch(rec);
        if (rec.value.find("\"type\":\"FinalAnswerSynthesized\"") != std::string::npos)
          on_answer(rec.key);
      }
    }
    return events;
  }

  std::string next_id() { return run_ + "-" + std::to_string(n_++); }

  std::function<void(const storage::record&)> watch; // if set, sees every record followed

 private:
  storage::log& log_;
  topics names_;
  std::string run_;
  std::unique_ptr<storage::consumer> follow_;
  int n_ = 0;
};

/// The embedded pipeline's throughput with and without the console serving 50 clients
/// (bench/console_load.cpp).
void console_load(bool quick);

/// Mean time per call of each piece of work a pipeline event carries (bench/components.cpp).
void components(bool quick);

} // namespace eventide::bench
