// compensations: the sagas that stopped with effects left (CompensationFailed, DESIGN §15), for
// an operator to see what is still done in the world and why it could not be undone; `retry`
// runs what is left again.
#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "actors/node.hpp"
#include "commands.hpp"
#include "core/json.hpp"
#include "ingress.hpp"
#include "log_io.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {
namespace {

// "s2 chargePayment (refundPayment failed: ...)" per entry that is not undone.
std::string left_of(const std::string& compensations_json) {
  std::string out;
  auto doc = json::parse(compensations_json);
  if (!doc || !doc->IsArray())
    return out;
  for (const auto& c : doc->GetArray()) {
    auto field = [&](const char* k) { return json::get_string(c, k).value_or(""); };
    auto status = field("status");
    if (status == "done")
      continue;
    std::string why = status == "failed"    ? field("compensation") + " failed: " + field("error")
                      : status == "unknown" ? "outcome unknown: " + field("error")
                                            : field("compensation") + " not run";
    out += (out.empty() ? "" : ", ") + field("stepId") + " " + field("tool") + " (" + why + ")";
  }
  return out;
}

} // namespace

// compensations retry CONVERSATION: asks the orchestrator to undo what is left again (new
// invocation ids, so the shop takes them as new requests); prints the turn's events until the
// saga ends again, or why the request was refused.
int retry(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (cl.positionals.size() != 2)
    throw usage_error{"usage: eventide compensations retry CONVERSATION [--turn N] [--user ID]"};
  const auto& conversation = cl.positionals[1];
  check_conversation_id(conversation);
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  events::compensation_retry_requested again{cfg.user, cfg.reason};
  again.turn = latest_turn(*log, cfg, conversation);
  return submit_command(log, cfg, system_config, conversation, again,
                        {"PlanCompensated", "CompensationFailed"});
}

int run_compensations(const options& cfg, const command_line& cl,
                      caf::actor_system_config& system_config) {
  if (!cl.positionals.empty() && cl.positionals.front() == "retry")
    return retry(cfg, cl, system_config);
  if (!cl.positionals.empty() && cl.positionals.front() != "list")
    throw usage_error{"compensations: unknown subcommand '" + cl.positionals.front()
                      + "' (usage: eventide compensations [list] | retry CONVERSATION)"};
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  // The latest saga end per turn, in log order: a saga retried to completion is not listed.
  std::map<std::pair<std::string, int>, std::optional<events::compensation_failed>> ends;
  read_to_end(*log, {t.conversation_events}, [&](const storage::record& rec) {
    auto ev = events::decode(rec.value);
    if (!ev)
      return; // the roles dead-letter it
    auto key = std::make_pair(ev->subject, events::turn_of(ev->data));
    if (auto f = std::get_if<events::compensation_failed>(&ev->data))
      ends[key] = *f;
    else if (std::holds_alternative<events::plan_compensated>(ev->data))
      ends[key] = std::nullopt;
  });
  size_t listed = 0;
  for (const auto& [key, failed] : ends) {
    if (!failed)
      continue;
    ++listed;
    std::cout << key.first << " turn " << key.second << ": " << failed->error << "\n  left: "
              << left_of(failed->compensations_json) << "\n";
  }
  if (listed == 0)
    std::cout << "no saga stopped with effects left\n";
  return exit_ok;
}

} // namespace eventide::cli
