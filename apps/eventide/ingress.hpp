// Asking one turn of a conversation, as `ask` and `chat` do: the question is written to
// user-commands as turn n and the conversation is followed until that turn's answer.
#pragma once

#include <chrono>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "model/events.hpp"
#include "storage/log.hpp"
#include "options.hpp"

namespace eventide::cli {

/// A new conversation id: a random (version 4) UUID.
std::string new_conversation_id();

/// Throws usage_error for a question that cannot be asked (blank, over 4000 characters).
void check_question(const std::string& question);

/// Throws usage_error for a conversation id the log could not key (empty, too long, '/').
void check_conversation_id(const std::string& conversation);

/// The turn a new question of `conversation` takes: one past the highest turn asked in its
/// user-commands partition; 0 when the log has no question of it.
int next_turn(storage::log& log, const options& cfg, const std::string& conversation);

/// How a person takes part while a turn runs: Ctrl-C asks on `input` whether to cancel the
/// turn (`ask`, `chat`); with `approvals`, a step waiting for approval is asked about inline
/// (`chat`). Answers are lines: "y"/"yes" or anything else (no). No input: no prompts.
struct turn_prompts {
  std::istream* input = nullptr;
  bool approvals = false;
};

/// Writes `question` as turn `turn` of `conversation` and prints that turn's events until its
/// answer (or with --json the turn's trace). exit_ok, exit_failed when the turn failed or the
/// router refused the question (its reason is printed), exit_timeout after `timeout`.
int ask_turn(storage::log& log, const options& cfg, const std::string& conversation, int turn,
             const std::string& question, std::chrono::seconds timeout,
             turn_prompts prompts = {});

/// The latest turn asked in `conversation`; dies (exit_usage) when it has none.
int latest_turn(storage::log& log, const options& cfg, const std::string& conversation);

/// Writes a person's command of a turn (an approval decision, a cancellation, a saga retry;
/// its data's turn set) with a unique id -- a second one is its own record, refused as such --
/// starts the roles this process runs (start_ingress_roles) and prints the turn's events from
/// there until its answer, like ask_turn: a dead letter of the command (the orchestrator refused
/// it) ends the wait with its reason (exit_failed). `until`: event types that end the wait
/// instead of the answer (the turn was answered before).
int submit_command(std::shared_ptr<storage::log> log, const options& cfg,
                   caf::actor_system_config& system_config, const std::string& conversation,
                   events::payload command, std::vector<std::string> until = {});

} // namespace eventide::cli
