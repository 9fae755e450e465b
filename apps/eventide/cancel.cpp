// cancel: stops a running turn. Written as CancelRequested; the orchestrator checks it (is the
// turn running? may this --user cancel it?) and records TurnCancelled: no new step starts,
// what was done is undone, and the answer says it was cancelled. Prints the rest of the turn
// (or the refusal) like `ask`.
#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "commands.hpp"
#include "core/event_ids.hpp"
#include "ingress.hpp"
#include "log_io.hpp"
#include "roles.hpp"

namespace eventide::cli {

int run_cancel(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (cl.positionals.size() != 1)
    throw usage_error{"usage: eventide cancel CONVERSATION [--reason TEXT] [--user ID]"};
  const auto& conversation = cl.positionals[0];
  check_conversation_id(conversation);
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  const int turn = next_turn(*log, cfg, conversation) - 1; // the latest turn asked
  if (turn < 1)
    die(exit_usage, "unknown conversation " + conversation + " in " + log->describe());
  events::cancel_requested stop{cfg.user, cfg.reason};
  stop.turn = turn;
  events::event e;
  e.subject = conversation;
  e.data = stop;
  e.id = core::deterministic_id(conversation, e.data) + "/" + new_conversation_id();
  caf::actor_system sys{system_config};
  auto n = start_ingress_roles(sys, log, cfg);
  auto rc = submit_and_follow(*log, cfg, std::move(e), std::chrono::seconds(cfg.timeout));
  if (n)
    n->stop();
  return rc;
}

} // namespace eventide::cli
