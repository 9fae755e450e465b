// What a command runs with: the option values, its command line, exit codes, and how it reports a
// fatal error. No CAF header: config.hpp binds these values to CAF's option set and loads them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "providers/provider_config.hpp"

namespace eventide::cli {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  // the conversation ended in a failure
constexpr int exit_usage = 2;   // bad command line or config
constexpr int exit_timeout = 3; // no answer within --timeout

/// The options text of `eventide help` (after the command list).
extern const char* const options_text;

/// The values of the [eventide] options (config.hpp loads them).
struct options {
  std::string data_dir;
  std::string brokers;
  std::string topic_prefix;
  int partitions = 3;
  std::string roles;
  std::string node_id = "node-1";
  bool json = false;
  int timeout = 60;
  std::string user;
  std::string conversation; // ask/chat: add a turn to this conversation
  std::string reason;       // approve/reject/cancel: why (optional)
  std::string log_level;
  int max_attempts = 3;
  int max_plan_revisions = 3;
  int approval_threshold = 1000;         // whole USD: a charge worth more needs approval
  int64_t approval_timeout_ms = 86400000; // no decision by then is a denial
  std::string approvers;                 // comma-separated user ids; "" = the user who asked
  // Budgets per turn (0 = none): tool invocations, LLM tokens, their cost, wall time.
  int max_turn_invocations = 0;
  int64_t max_turn_tokens = 0;
  std::string max_turn_cost_usd = "0"; // text: parsed here (a double option crashes CAF on bad input)
  int64_t max_turn_ms = 0;
  std::string llm_prices; // "gpt-4o-mini=0.0006,llama3.1:8b=0": USD per 1,000 tokens by model
  int step_timeout_ms = 30000;
  int turn_timeout_ms = 300000;
  int retry_base_ms = 200;
  int retry_max_ms = 10000;
  int tool_concurrency = 2;
  int passivate_after_ms = 60000;
  int memory_turns = 8;
  int memory_tokens = 800;
  int crash_loop_limit = 3;     // a record in flight at this many crashes is dead-lettered
  int metrics_port = 0;
  std::string metrics_address = "127.0.0.1";
  std::string resources;
  std::string kafka_version;    // broker.version.fallback; "" = a modern broker
  // Where the shop tools reach the shop: "" = in this process (DATA_DIR/shop), else its URL.
  std::string shop_url;
  // `shop serve` and the in-process shop: where it listens and how it decides (shop/service.hpp).
  int port = 0;                 // 0 = an ephemeral port
  std::string host = "127.0.0.1";
  int card_limit = 2000;        // whole USD
  std::string ship_to;          // comma-separated cities; "" = the default list
  std::string products;         // products folder; "" = RESOURCES/products
  int session_timeout_ms = 10000;
  int64_t kafka_retention_ms = -1; // retention.ms of topics created on a modern broker; -1 = forever
  bool kafka_exactly_once = true;
  // librdkafka properties over the defaults, "k=v,k=v"; "consumer."/"producer." prefixes go to
  // that kind of handle only (e.g. "consumer.fetch.wait.max.ms=10").
  std::string kafka_properties;  // roles write in Kafka transactions where the broker has them
  // LLM and HTTP provider keys (llm-planning-chain, ollama-url, ...), as given; empty = default.
  std::map<std::string, std::string> provider_values;
  providers::provider_config providers; // built from provider_values by load_config
};

/// A bad command line or config: main prints "eventide: MESSAGE" and exits with exit_usage.
struct usage_error {
  std::string message;
};

/// Prints "eventide: MESSAGE" on stderr and exits with `code`.
[[noreturn]] void die(int code, const std::string& message);

/// argv split into positionals and CAF arguments (--eventide.NAME=VALUE).
struct command_line {
  std::vector<std::string> positionals;
  std::vector<std::string> caf_args;
  std::string config_file;
  std::vector<std::string> false_flags; // --NAME=false of flags that default to true
};

/// Starts logging at --log-level, or `default_level` when none is given (and to `file` too).
void start_logging(const options& cfg, const char* default_level, const std::string& file = "");

} // namespace eventide::cli
