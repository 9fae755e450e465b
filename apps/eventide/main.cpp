// eventide — the command-line front end: the command table, `help`, and dispatch.
//
// Options are CAF config options in the [eventide] group, read from a deployment file
// (--config FILE) and overridable on the command line as `--name value` or `--name=value`.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "actors/crash_point.hpp"
#include "actors/error.hpp"
#include "actors/node.hpp"
#include "commands.hpp"
#include "config.hpp"

using namespace eventide;
using namespace eventide::cli;

namespace {

// One line of `eventide help`: a synopsis and what it does (later lines of `text` after "\n").
struct help_line {
  std::string_view synopsis;
  std::string_view text;
};

struct command {
  std::string_view name;
  std::vector<help_line> summary;
  int (*run)(const options&, const command_line&, caf::actor_system_config&) = nullptr;
  // Instead of run, for a command that needs no config (help, roles).
  int (*run_plain)() = nullptr;
};

int run_help();

const std::vector<command>& command_table() {
  static const std::vector<command> table = {
    {"ask",
     {{"ask \"QUESTION\"",
       "plan and answer a question; prints every event live, then the answer;\n"
       "--conversation ID asks it as that conversation's next turn"}},
     run_ask},
    {"chat",
     {{"chat", "an interactive conversation: each line is the next turn (follow-ups\n"
               "resolve against the earlier ones); /new, /trace, /quit or Ctrl-D;\n"
               "--conversation ID resumes one"}},
     run_chat},
    {"resume",
     {{"resume", "finish conversations left unanswered (e.g. after a crash) and print them"}},
     run_resume},
    {"node",
     {{"node", "run roles until SIGTERM/SIGINT (--roles router,orchestrator,...);\n"
               "writes DATA_DIR/health.json every second; SIGUSR1 writes\n"
               "DATA_DIR/orchestrator-digest.txt; --roles metrics runs the metrics\n"
               "projection of the whole log (see docs/metrics.md)"}},
     run_node},
    {"console",
     {{"console", "the web console on http://127.0.0.1:PORT/ (--port, --host): live\n"
                  "conversations, timelines, DAGs, raw events, dead letters, metrics,\n"
                  "approvals; runs the roles like chat (API: docs/http-api.md)"}},
     run_console},
    {"stats",
     {{"stats", "latency (end to end, per tool, per role), events, consumer lag, dead\n"
                "letters (--json: the metrics role's report)"}},
     run_stats},
    {"trace",
     {{"trace ID", "a conversation's timeline: events, offsets, causes, plan DAG, critical path"}},
     run_trace},
    {"produce",
     {{"produce TOPIC KEY FILE", "append one raw record (FILE or - for stdin) to a topic"},
      {"produce RECORDS_FILE",
       "append many (- for stdin): one a line, TOPIC<tab>KEY<tab>VALUE, or a\n"
       "`dump` line; \\t \\n \\r \\\\ escaped, other bytes raw; prints where each went"}},
     run_produce},
    {"ledger",
     {{"ledger", "the workers' ledger: the result recorded per invocation id (node stopped)"}},
     run_ledger},
    {"dump",
     {{"dump [TOPIC...]",
       "every record of the topics (default: all four) as one line each:\n"
       "topic, partition, offset, key, value (tab-separated; \\t \\n \\r \\\\ escaped)"}},
     run_dump},
    {"dlq",
     {{"dlq list [group=G] [topic=T] [reason=TEXT]", "list dead-lettered records"},
      {"dlq show P:OFFSET", "print one dead letter in full"},
      {"dlq redrive P:OFFSET [FILE]",
       "re-submit it (or a fixed version) to its topic, and record that"}},
     run_dlq},
    {"approvals",
     {{"approvals", "the steps waiting for a person's approval: what they would do, why"}},
     run_approvals},
    {"approve",
     {{"approve ID [STEP]", "approve a waiting step (--user, --reason); prints the rest of the\n"
                            "turn, or why the orchestrator refused the decision"}},
     run_approve},
    {"reject",
     {{"reject ID [STEP]", "reject it: the step fails and what the turn did is undone"}},
     run_reject},
    {"cancel",
     {{"cancel ID", "cancel the conversation's running turn (--user, --reason): nothing new\n"
                    "starts, what was done is undone, the answer says so"}},
     run_cancel},
    {"compensations",
     {{"compensations [list]",
       "the sagas that stopped with effects left (CompensationFailed): the\n"
       "turn, why, and each effect not undone"},
      {"compensations retry ID", "undo what is left again (new invocation ids); prints the\n"
                                 "saga until it ends, or why the retry was refused"}},
     run_compensations},
    {"shop",
     {{"shop serve", "run the shop service (orders, payments, shipments, stock; API in\n"
                     "docs/shop-api.md) over HTTP until SIGTERM/SIGINT: --port, --host,\n"
                     "--card-limit, --ship-to, --products; its store is DATA_DIR/shop"},
      {"shop stock", "the stock per product in DATA_DIR/shop (shop stopped)"}},
     run_shop},
    {"roles", {{"roles", "list the roles a node can host"}}, nullptr, run_roles},
    {"help", {{"help", "this text"}}, nullptr, run_help},
  };
  return table;
}

// The help text: the command table's summaries, then the options.
std::string usage_text() {
  constexpr size_t column = 19; // where a summary starts, after the two-space indent
  std::string s = "usage: eventide <command> [options]\n\ncommands:\n";
  for (auto& cmd : command_table())
    for (auto& line : cmd.summary) {
      s += "  ";
      s += line.synopsis;
      s.append(line.synopsis.size() + 2 <= column ? column - line.synopsis.size() : 2, ' ');
      for (char c : line.text) {
        s += c;
        if (c == '\n')
          s.append(2 + column, ' ');
      }
      s += '\n';
    }
  return s + "\n" + options_text;
}

int run_help() {
  std::cout << usage_text();
  return exit_ok;
}

const command* find_command(std::string_view name) {
  if (name == "--help" || name == "-h")
    name = "help";
  for (auto& cmd : command_table())
    if (cmd.name == name)
      return &cmd;
  return nullptr;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage_text();
    return exit_usage;
  }
  std::string name = argv[1];
  auto cmd = find_command(name);
  if (cmd && cmd->run_plain)
    return cmd->run_plain();
  try {
    config cfg;
    tune_scheduler(cfg);
    cfg.add_error_category(caf::atom("eventide"),
                           [](uint8_t x, caf::atom_value, const caf::message& ctx) -> std::string {
                             return std::string(to_string(static_cast<ec>(x))) + ": "
                                    + caf::to_string(ctx);
                           });
    if (auto setting = check_crash_setting(); !setting)
      throw usage_error{setting.error()};
    auto cl = split_args(argc, argv, cfg);
    load_config(cfg, cl);
    // An unknown command is reported after the options: a bad option or config comes first.
    if (!cmd)
      throw usage_error{"unknown command '" + name + "' (see `eventide help`)"};
    return cmd->run(cfg, cl, cfg);
  } catch (const usage_error& e) {
    std::cerr << "eventide: " << e.message << std::endl;
    return exit_usage;
  }
}
