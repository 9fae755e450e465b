// dump: every record of some topics (default: all four), one line each.
#include <iostream>
#include <string>
#include <vector>

#include "actors/node.hpp"
#include "commands.hpp"
#include "core/text.hpp"
#include "log_io.hpp"

namespace eventide::cli {

// Every record of some topics, one line each, for tests and people that check the log itself
// (counting records, not ids): topic, partition, offset, key, value; tab-separated, with tab,
// newline, carriage return and backslash escaped so that a line is a record.
int run_dump(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  std::vector<std::string> names;
  for (auto& p : cl.positionals)
    names.push_back(cfg.topic_prefix + p);
  if (names.empty())
    names = {t.user_commands, t.conversation_events, t.tool_requests, t.dead_letters};
  read_to_end(*log, names, [&](const storage::record& rec) {
    std::cout << rec.topic.substr(cfg.topic_prefix.size()) << '\t' << rec.partition << '\t'
              << rec.offset << '\t' << core::escape(rec.key) << '\t' << core::escape(rec.value)
              << '\n';
  });
  std::cout.flush();
  return exit_ok;
}

} // namespace eventide::cli
