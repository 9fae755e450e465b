// Following a conversation in the log: each event as one line as it happens, then the answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/log.hpp"
#include "model/events.hpp"

namespace eventide::cli {

/// One event's line after its type: the question, the plan's steps, a result, ...
std::string summarize(const events::event& e);

/// Follows one conversation's partitions and prints its events until the final answer.
struct follower {
  std::unique_ptr<storage::consumer> consumer;
  std::string conversation;
  int turn = 1; // events of other turns are not shown
  // Where the question was written, and the dead-letter topic: a letter of that record (a
  // refused question) ends the wait with its reason. Empty topic: not watched.
  std::string dead_letter_topic;
  storage::position question;
  std::string question_topic;
  std::string what = "the question"; // what was written, for the refusal's message
  std::vector<std::string> until;    // event types that end the follow like an answer (exit_ok)
  bool json = false;
  int64_t started_ms = 0;
  std::vector<std::string> trace; // raw event JSON, for --json
  // Interactive `ask`/`chat` (ingress.cpp): called once per poll (Ctrl-C asks whether to
  // cancel) and for each event shown after its line (chat asks inline for approvals).
  std::function<void()> on_tick;
  std::function<void(const events::event&)> on_event;
};

/// Prints f's events (or with f.json the whole trace at the end) until the final answer:
/// exit_ok, exit_failed when the conversation failed, exit_timeout after `timeout`.
int follow(follower& f, std::chrono::seconds timeout);

} // namespace eventide::cli
