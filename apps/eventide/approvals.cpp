// approvals: the steps waiting for a person's approval, with what they would do and how to
// decide (`eventide approve|reject`).
#include "approvals.hpp"

#include <iostream>
#include <map>
#include <tuple>

#include "actors/node.hpp"
#include "commands.hpp"
#include "log_io.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

std::vector<pending_approval> pending_approvals(storage::log& log, const options& cfg,
                                                const std::string& conversation) {
  using key = std::tuple<std::string, int, std::string>; // conversation, turn, step
  std::map<key, pending_approval> open;
  std::vector<key> order;
  read_to_end(log, {topics(cfg.topic_prefix).conversation_events},
              [&](const storage::record& rec) {
                auto ev = events::decode(rec.value);
                if (!ev)
                  return; // the roles dead-letter it
                const int turn = events::turn_of(ev->data);
                if (auto a = std::get_if<events::approval_requested>(&ev->data)) {
                  key k{ev->subject, turn, a->step_id};
                  if (!open.count(k))
                    order.push_back(k);
                  open[k] = {ev->subject, turn, a->step_id, a->tool, a->args_json, a->reason,
                             a->expires_at};
                } else if (auto g = std::get_if<events::approval_granted>(&ev->data)) {
                  open.erase(key{ev->subject, turn, g->step_id});
                } else if (auto d = std::get_if<events::approval_denied>(&ev->data)) {
                  open.erase(key{ev->subject, turn, d->step_id});
                } else if (std::holds_alternative<events::plan_completed>(ev->data)
                           || std::holds_alternative<events::plan_failed>(ev->data)) {
                  for (auto it = open.begin(); it != open.end();)
                    it = std::get<0>(it->first) == ev->subject && std::get<1>(it->first) == turn
                           ? open.erase(it)
                           : std::next(it);
                }
              },
              conversation);
  std::vector<pending_approval> out;
  for (const auto& k : order)
    if (auto it = open.find(k); it != open.end()) {
      out.push_back(it->second);
      open.erase(it); // a step asked twice is listed once
    }
  return out;
}

int run_approvals(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (!cl.positionals.empty())
    throw usage_error{"approvals takes no arguments (eventide approvals [--data-dir|--brokers])"};
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  auto pending = pending_approvals(*log, cfg);
  const int64_t now = now_ms();
  for (const auto& p : pending) {
    auto left_s = (p.expires_at - now) / 1000;
    std::string expires = left_s <= 0 ? "expired (denied at the orchestrator's next look)"
                                      : "expires in " + std::to_string(left_s / 3600) + " h "
                                          + std::to_string(left_s % 3600 / 60) + " min";
    std::cout << p.conversation << " turn " << p.turn << " step " << p.step << " " << p.tool << " "
              << p.args_json << "\n  " << p.reason << "; " << expires << " (eventide approve|reject "
              << p.conversation << " " << p.step << ")\n";
  }
  if (pending.empty())
    std::cout << "no approval is pending\n";
  return exit_ok;
}

} // namespace eventide::cli
