// An in-process pipeline for end-to-end tests: every role on a fresh embedded log, plus an
// ingress that asks a question and collects the conversation's events from the log.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/bridges.hpp"
#include "actors/node.hpp"
#include "storage/embedded_log.hpp"
#include "core/json.hpp"
#include "providers/tool.hpp"
#include "model/events.hpp"
#include "tests/effect_log.hpp"
#include "tests/temp_dir.hpp"

namespace eventide::testing {

struct conversation_trace {
  std::string id;
  std::vector<events::event> conversation_events; // in log order
  std::vector<events::event> tool_requests;        // in log order
  /// Every event record read, in log order per topic: the evidence for "once".
  struct raw_record {
    std::string topic, event_id, bytes;
  };
  std::vector<raw_record> records;
  const events::final_answer_synthesized* answer() const {
    for (auto& e : conversation_events)
      if (auto a = std::get_if<events::final_answer_synthesized>(&e.data))
        return a;
    return nullptr;
  }
  /// "Type" or "Type:step" for the conversation-events, in order.
  std::vector<std::string> sequence() const;
  /// The result JSON of a step's successful ToolInvocationResulted (parsed).
  json::document result_of(const std::string& step) const;
  /// Records (not ids) of a type, repeats included.
  size_t count(const char* type) const;
  /// Event ids that repeat with bytes different from their first record: a decision made
  /// twice. A byte-identical repeat (a producer retry, a ledger replay) is not listed.
  std::vector<std::string> divergent_repeats() const;
};

/// The conversation-events of a 3-step plan answered without a retry, in log order.
inline std::vector<std::string> three_step_sequence() {
  return {"PlanGenerated",        "ToolInvocationResulted:s1", "PlanStepCompleted:s1",
          "ToolInvocationResulted:s2", "PlanStepCompleted:s2", "ToolInvocationResulted:s3",
          "PlanStepCompleted:s3", "PlanCompleted",             "FinalAnswerSynthesized"};
}

class pipeline {
 public:
  explicit pipeline(const std::string& data_dir, node_options opts = {});
  /// Runs every role over `log` (e.g. a Kafka log) instead of a fresh embedded one.
  pipeline(const std::string& data_dir, std::shared_ptr<storage::log> log, node_options opts = {});
  ~pipeline();

  /// Starts all roles (again, after stop()).
  void start();
  /// Stops all roles (the log stays open).
  void stop();

  /// Writes UserQueryReceived and returns the conversation's events once its answer arrived
  /// and `settle` passed without further events (to catch duplicates). Throws if an event id
  /// repeats with other bytes (conversation_trace::divergent_repeats).
  conversation_trace ask(const std::string& conversation, const std::string& question,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20),
                         std::chrono::milliseconds settle = std::chrono::milliseconds(150));

  /// Reads everything of a conversation that is in the log now; throws as ask() does.
  conversation_trace read(const std::string& conversation);
  /// Reads the conversation until its answer is in the log (at most `timeout`), then once more
  /// after `settle` to catch anything that follows it.
  conversation_trace await_answer(const std::string& conversation,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(20),
                                  std::chrono::milliseconds settle = std::chrono::milliseconds(300));

  /// Appends raw bytes to a topic (poison records).
  void produce_raw(const std::string& topic, const std::string& key, const std::string& value);
  /// Appends an event to its topic.
  void produce(const events::event& e);

  storage::log& log() { return *log_; }
  /// The node's health JSON (node::health): bridges, providers, limits.
  std::string health() { return node_ ? node_->health() : "{}"; }
  const topics& names() const { return topics_; }

 private:
  std::string data_dir_;
  node_options opts_;
  topics topics_;
  std::shared_ptr<storage::log> log_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<node> node_;

  void init();
};

} // namespace eventide::testing
