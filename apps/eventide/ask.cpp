// ask: asks a question (a new conversation, or with --conversation its next turn), printing
// the turn's events live and then the answer.
#include <iostream>
#include <memory>

#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "commands.hpp"
#include "ingress.hpp"
#include "log_io.hpp"
#include "roles.hpp"

namespace eventide::cli {

int run_ask(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (cl.positionals.size() != 1)
    throw usage_error{"ask takes exactly one question in quotes: eventide ask \"...\""};
  const auto& question = cl.positionals[0];
  check_question(question);
  if (!cfg.conversation.empty())
    check_conversation_id(cfg.conversation);
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  // A turn of an existing conversation: the one after the last asked (it waits for the
  // answers of the turns before it).
  int turn = 1;
  auto conversation = cfg.conversation;
  if (conversation.empty()) {
    conversation = new_conversation_id();
  } else if (turn = next_turn(*log, cfg, conversation); turn == 0) {
    die(exit_usage, "unknown conversation " + conversation + " in " + log->describe()
                      + " (ask without --conversation to start one)");
  }
  caf::actor_system sys{system_config};
  auto n = start_ingress_roles(sys, log, cfg);
  // Ctrl-C asks (on stdin) whether to cancel the turn instead of leaving it running.
  auto rc = ask_turn(*log, cfg, conversation, turn, question, std::chrono::seconds(cfg.timeout),
                     turn_prompts{&std::cin, false});
  if (n)
    n->stop();
  return rc;
}

} // namespace eventide::cli
