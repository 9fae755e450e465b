// resume: finishes conversations left unanswered (e.g. after a crash) and prints their answers.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>

#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "commands.hpp"
#include "log_io.hpp"
#include "roles.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

namespace {

// Conversations with a question and no final answer yet.
std::set<std::string> unanswered(storage::log& log, const topics& t) {
  std::set<std::string> asked, answered;
  read_to_end(log, {t.user_commands, t.conversation_events}, [&](const storage::record& rec) {
    auto ev = events::decode(rec.value);
    if (!ev)
      return;
    if (std::holds_alternative<events::user_query_received>(ev->data))
      asked.insert(ev->subject);
    else if (std::holds_alternative<events::final_answer_synthesized>(ev->data))
      answered.insert(ev->subject);
  });
  std::set<std::string> open;
  for (auto& id : asked)
    if (!answered.count(id))
      open.insert(id);
  return open;
}

} // namespace

int run_resume(const options& cfg, const command_line& cl,
               caf::actor_system_config& system_config) {
  if (!cl.positionals.empty())
    throw usage_error{"resume takes no arguments"};
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  if (!cfg.brokers.empty())
    throw usage_error{"resume is for the embedded log; on Kafka the running nodes finish "
                      "conversations themselves (see `eventide trace ID`)"};
  if (!std::filesystem::exists(cfg.data_dir + "/log"))
    die(exit_usage, "no embedded log at " + cfg.data_dir + "/log: nothing to resume");
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  auto open = unanswered(*log, t);
  if (open.empty()) {
    std::cout << "nothing to resume: every conversation has its answer" << std::endl;
    return exit_ok;
  }
  std::cout << "resuming " << open.size() << " unanswered conversation"
            << (open.size() == 1 ? "" : "s") << std::endl;
  // Follow every partition from the start: the answers may predate this process.
  auto parts = log->partition_count(t.conversation_events);
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (int32_t p = 0; parts && p < *parts; ++p)
    start.emplace_back(storage::topic_partition{t.conversation_events, p}, 0);
  auto c = log->assign(start);
  if (!c)
    die(exit_failed, c.error());
  caf::actor_system sys{system_config};
  node n{sys, log, make_node_options(cfg, parse_roles("all"))};
  if (auto r = n.start(); !r)
    die(exit_usage, r.error());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cfg.timeout);
  int rc = exit_ok;
  while (!open.empty() && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*c)->poll(256, std::chrono::milliseconds(100));
    if (!batch)
      die(exit_failed, batch.error());
    for (auto& rec : *batch) {
      auto ev = events::decode(rec.value);
      if (!ev || !open.count(ev->subject))
        continue;
      if (auto a = std::get_if<events::final_answer_synthesized>(&ev->data)) {
        std::cout << "\nconversation " << ev->subject << ":\n" << a->answer << std::endl;
        if (a->failed)
          rc = exit_failed;
        open.erase(ev->subject);
      }
    }
  }
  n.stop();
  if (!open.empty()) {
    std::cerr << "eventide: " << open.size() << " conversation(s) still unanswered after "
              << cfg.timeout << " s" << std::endl;
    return exit_timeout;
  }
  return rc;
}

} // namespace eventide::cli
