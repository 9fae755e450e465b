// approve, reject: a person's decision on a step waiting for approval. Written as
// ApprovalSubmitted; the orchestrator checks it (is the step waiting? may this --user decide?)
// and records ApprovalGranted or ApprovalDenied, or dead-letters it with the reason. Prints
// the rest of the turn (or the refusal) like `ask`.
#include <iostream>

#include "actors/node.hpp"
#include "approvals.hpp"
#include "commands.hpp"
#include "ingress.hpp"
#include "log_io.hpp"

namespace eventide::cli {
namespace {

int decide(const options& cfg, const command_line& cl, caf::actor_system_config& system_config,
           bool approve) {
  const char* verb = approve ? "approve" : "reject";
  if (cl.positionals.empty() || cl.positionals.size() > 2)
    throw usage_error{std::string("usage: eventide ") + verb
                      + " CONVERSATION [STEP] [--reason TEXT] [--user ID]"};
  const auto& conversation = cl.positionals[0];
  check_conversation_id(conversation);
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  auto pending = pending_approvals(*log, cfg, conversation);
  events::approval_submitted decision;
  decision.approve = approve;
  decision.user_id = cfg.user;
  decision.reason = cfg.reason;
  if (cl.positionals.size() == 2) {
    // As given: the orchestrator says why it cannot be decided, if it cannot.
    decision.step_id = cl.positionals[1];
    decision.turn = pending.empty() ? std::max(next_turn(*log, cfg, conversation) - 1, 1)
                                    : pending.back().turn;
    for (const auto& p : pending)
      if (p.step == decision.step_id)
        decision.turn = p.turn;
  } else if (pending.size() == 1) {
    decision.step_id = pending[0].step;
    decision.turn = pending[0].turn;
  } else if (pending.empty()) {
    die(exit_usage, "no approval is pending in conversation " + conversation);
  } else {
    std::string steps;
    for (const auto& p : pending)
      steps += " " + p.step;
    die(exit_usage, std::to_string(pending.size()) + " approvals are pending in conversation "
                      + conversation + " (steps" + steps + "): name the step");
  }
  return submit_command(log, cfg, system_config, conversation, decision);
}

} // namespace

int run_approve(const options& cfg, const command_line& cl, caf::actor_system_config& sc) {
  return decide(cfg, cl, sc, true);
}

int run_reject(const options& cfg, const command_line& cl, caf::actor_system_config& sc) {
  return decide(cfg, cl, sc, false);
}

} // namespace eventide::cli
