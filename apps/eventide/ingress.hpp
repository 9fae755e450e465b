// Asking one turn of a conversation, as `ask` and `chat` do: the question is written to
// user-commands as turn n and the conversation is followed until that turn's answer.
#pragma once

#include <chrono>
#include <string>

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

/// Writes `question` as turn `turn` of `conversation` and prints that turn's events until its
/// answer (or with --json the turn's trace). exit_ok, exit_failed when the turn failed or the
/// router refused the question (its reason is printed), exit_timeout after `timeout`.
int ask_turn(storage::log& log, const options& cfg, const std::string& conversation, int turn,
             const std::string& question, std::chrono::seconds timeout);

} // namespace eventide::cli
