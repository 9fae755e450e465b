// cancel: stops a running turn. Written as CancelRequested; the orchestrator checks it (is the
// turn running? may this --user cancel it?) and records TurnCancelled: no new step starts,
// what was done is undone, and the answer says it was cancelled. Prints the rest of the turn
// (or the refusal) like `ask`.
#include "actors/node.hpp"
#include "commands.hpp"
#include "ingress.hpp"
#include "log_io.hpp"

namespace eventide::cli {

int run_cancel(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (cl.positionals.size() != 1)
    throw usage_error{"usage: eventide cancel CONVERSATION [--reason TEXT] [--user ID]"};
  const auto& conversation = cl.positionals[0];
  check_conversation_id(conversation);
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  events::cancel_requested stop{cfg.user, cfg.reason};
  stop.turn = latest_turn(*log, cfg, conversation);
  return submit_command(log, cfg, system_config, conversation, stop);
}

} // namespace eventide::cli
