// chat: an interactive session in one conversation. Each line is the next turn (its events
// live, then the answer); /new starts another conversation, /trace prints this one's trace,
// /quit or Ctrl-D ends. --conversation ID resumes a conversation.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "commands.hpp"
#include "ingress.hpp"
#include "log_io.hpp"
#include "roles.hpp"
#include "trace.hpp"

namespace eventide::cli {

namespace {

const char* const chat_help =
  "type a question, or: /new (a new conversation), /trace (this one's timeline), /quit\n";

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

} // namespace

int run_chat(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (!cl.positionals.empty())
    throw usage_error{"chat takes no arguments: questions are read line by line"};
  if (cfg.json)
    throw usage_error{"chat does not print JSON: use `ask --json` or `trace --json`"};
  if (!cfg.conversation.empty())
    check_conversation_id(cfg.conversation);
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  auto conversation = cfg.conversation;
  if (!conversation.empty() && next_turn(*log, cfg, conversation) == 0)
    die(exit_usage, "unknown conversation " + conversation + " in " + log->describe()
                      + " (chat without --conversation to start one)");
  caf::actor_system sys{system_config};
  auto n = start_ingress_roles(sys, log, cfg);
  const bool interactive = isatty(STDIN_FILENO);
  if (conversation.empty())
    conversation = new_conversation_id();
  std::cout << "conversation " << conversation << " on " << log->describe() << "\n"
            << chat_help << std::flush;
  std::string line;
  while (true) {
    if (interactive)
      std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line)) {
      if (interactive)
        std::cout << std::endl;
      break; // Ctrl-D
    }
    auto text = trimmed(line);
    if (text.empty())
      continue;
    if (text == "/quit" || text == "/exit")
      break;
    if (text == "/new") {
      conversation = new_conversation_id();
      std::cout << "conversation " << conversation << std::endl;
      continue;
    }
    if (text == "/trace") {
      if (next_turn(*log, cfg, conversation) == 0)
        std::cout << "conversation " << conversation << " has no turns yet" << std::endl;
      else
        print_trace(*log, cfg, conversation);
      continue;
    }
    if (text[0] == '/') {
      std::cout << "unknown command " << text << "; " << chat_help << std::flush;
      continue;
    }
    try {
      check_question(text);
    } catch (const usage_error& e) {
      std::cout << e.message << std::endl;
      continue;
    }
    // The turn after the last asked, read from the log: another writer's turns count too.
    int turn = std::max(1, next_turn(*log, cfg, conversation));
    // Ctrl-C asks whether to cancel the turn; a step waiting for approval is asked about.
    ask_turn(*log, cfg, conversation, turn, text, std::chrono::seconds(cfg.timeout),
             turn_prompts{&std::cin, true});
    std::cout << std::endl;
  }
  std::cout << "conversation " << conversation << " (resume it with `eventide chat --conversation "
            << conversation << "`)" << std::endl;
  if (n)
    n->stop();
  return exit_ok;
}

} // namespace eventide::cli
