// The options as CAF config: the option group, argv splitting, the deployment file, checks.
#include "config.hpp"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "providers/tool.hpp"

namespace eventide::cli {

config::config() {
  opt_group{custom_options_, "eventide"}
    .add(data_dir, "data-dir", "embedded log and node-local stores")
    .add(brokers, "brokers", "Kafka bootstrap servers (empty = embedded log)")
    .add(topic_prefix, "topic-prefix", "prefix for every topic name")
    .add(partitions, "partitions", "partitions of new topics")
    .add(roles, "roles", "roles of this node, comma separated")
    .add(node_id, "node-id", "node name in event sources")
    .add(json, "json", "print the event trace as JSON")
    .add(timeout, "timeout", "seconds to wait for an answer")
    .add(user, "user", "user id of asked questions and of decisions")
    .add(conversation, "conversation", "ask/chat: the conversation to add a turn to")
    .add(reason, "reason", "approve/reject/cancel: why")
    .add(log_level, "log-level", "trace|debug|info|warning|error")
    .add(max_attempts, "max-attempts", "attempts of a step with retryable errors")
    .add(max_plan_revisions, "max-plan-revisions", "plan revisions per turn (the agent loop)")
    .add(approval_threshold, "approval-threshold", "whole USD: a charge worth more needs approval")
    .add(approval_timeout_ms, "approval-timeout-ms", "no decision on an approval by then is a denial")
    .add(approvers, "approvers", "who may approve steps or cancel turns (comma separated)")
    .add(max_turn_invocations, "max-turn-invocations", "budget: tool invocations per turn (0 = none)")
    .add(max_turn_tokens, "max-turn-tokens", "budget: LLM tokens per turn (0 = none)")
    .add(max_turn_cost_usd, "max-turn-cost-usd", "budget: USD of LLM tokens per turn (0 = none)")
    .add(max_turn_ms, "max-turn-ms", "budget: wall time of a turn from its plan (0 = none)")
    .add(llm_prices, "llm-prices", "USD per 1,000 tokens by model: MODEL=PRICE,...")
    .add(step_timeout_ms, "step-timeout-ms", "re-request a step with no result after")
    .add(turn_timeout_ms, "turn-timeout-ms", "fail a turn with no progress for (0 = never)")
    .add(retry_base_ms, "retry-base-ms", "retry backoff base")
    .add(retry_max_ms, "retry-max-ms", "retry backoff cap")
    .add(tool_concurrency, "tool-concurrency", "detached runners per worker kind")
    .add(passivate_after_ms, "passivate-after-ms", "idle running conversations leave memory after")
    .add(memory_turns, "memory-turns", "answered turns the router remembers per conversation")
    .add(memory_tokens, "memory-tokens", "token budget of the memory in an LLM planner's prompt")
    .add(crash_loop_limit, "crash-loop-limit", "dead-letter a record in flight at this many crashes")
    .add(metrics_port, "metrics-port", "node: HTTP port of /metrics, /health, the console (0 = off)")
    .add(metrics_address, "metrics-address", "node: address of that port (loopback by default)")
    .add(resources, "resources", "root of products/, config/, prompts/")
    .add(kafka_version, "kafka-version", "broker.version.fallback, e.g. 0.9.0.1; empty = modern")
    .add(session_timeout_ms, "session-timeout-ms", "Kafka consumer group session timeout")
    .add(kafka_retention_ms, "kafka-retention-ms",
         "retention.ms of topics created on a modern broker (-1 = forever)")
    .add(kafka_exactly_once, "kafka-exactly-once",
         "roles write in Kafka transactions (brokers 0.11+)")
    .add(kafka_properties, "kafka-properties",
         "librdkafka properties over the defaults: K=V,... (consumer./producer. prefixes)")
    .add(shop_url, "shop-url", "where shop tools reach the shop (\"\" = in this process)")
    .add(port, "port", "shop serve, console: port to listen on (0 = ephemeral)")
    .add(host, "host", "shop serve, console: address to listen on")
    .add(card_limit, "card-limit", "the shop: charges worth more USD are declined")
    .add(ship_to, "ship-to", "the shop: cities it ships to, comma separated")
    .add(products, "products", "the shop: products folder (names, prices, stock)");
  opt_group providers_group{custom_options_, "eventide"};
  for (auto& key : providers::provider_option_keys())
    providers_group.add(provider_values[key], key, "LLM/HTTP provider setting");
}

command_line split_args(int argc, char** argv, const config& cfg) {
  command_line cl;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      cl.positionals.push_back(a);
      continue;
    }
    auto eq = a.find('=');
    auto name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::optional<std::string> value;
    if (eq != std::string::npos)
      value = a.substr(eq + 1);
    if (name == "config" || name == "config-file") {
      if (!value) {
        if (i + 1 >= argc)
          throw usage_error{"--config needs a file"};
        value = argv[++i];
      }
      cl.config_file = *value;
      continue;
    }
    auto opt = cfg.eventide_options().qualified_name_lookup("eventide." + name);
    if (!opt)
      throw usage_error{"unknown option --" + name + " (see `eventide help`)"};
    if (opt->is_flag()) {
      // CAF takes boolean flags without a value.
      if (!value || *value == "true")
        cl.caf_args.push_back("--eventide." + name);
      else if (*value == "false") // CAF takes no value for a flag: set after parsing
        cl.false_flags.push_back(name);
      else
        throw usage_error{"--" + name + " takes no value (or =true / =false)"};
      continue;
    }
    if (!value) {
      if (i + 1 >= argc)
        throw usage_error{"--" + name + " needs a value"};
      value = argv[++i];
    }
    // CAF reads an empty value as a missing argument; "" is its empty string.
    cl.caf_args.push_back("--eventide." + name + "=" + (value->empty() ? "\"\"" : *value));
  }
  return cl;
}

// Loads the deployment file and the command line into cfg; every error is one clear line.
void load_config(config& cfg, const command_line& cl) {
  if (!cl.config_file.empty()) {
    if (!std::filesystem::exists(cl.config_file))
      throw usage_error{"config file " + cl.config_file + " does not exist"};
    // Parsed without the option set: CAF would drop ill-typed values silently; we check them.
    auto parsed = caf::actor_system_config::parse_config_file(cl.config_file.c_str());
    if (!parsed)
      throw usage_error{"config file " + cl.config_file + ": " + cfg.render(parsed.error())};
    // Unknown keys and ill-typed values would otherwise be ignored silently.
    if (auto grp = parsed->find("eventide"); grp != parsed->end()) {
      if (!caf::holds_alternative<caf::settings>(grp->second))
        throw usage_error{"config file " + cl.config_file + ": [eventide] must be a group"};
      for (auto& [key, val] : caf::get<caf::settings>(grp->second)) {
        auto opt = cfg.eventide_options().qualified_name_lookup("eventide." + key);
        if (!opt)
          throw usage_error{"config file " + cl.config_file + ": unknown key eventide." + key};
        if (auto err = opt->check(val))
          throw usage_error{"config file " + cl.config_file + ": eventide." + key + " = "
                            + caf::to_string(val) + " is not a valid "
                            + std::string(opt->type_name().data(), opt->type_name().size())};
      }
    }
  }
  caf::error err;
  if (cl.config_file.empty()) {
    std::istringstream no_file; // never read a stray caf-application.ini from the cwd
    err = cfg.parse(cl.caf_args, no_file);
  } else {
    auto args = cl.caf_args;
    args.insert(args.begin(), "--config-file=" + cl.config_file);
    err = cfg.parse(args);
  }
  if (err)
    throw usage_error{"bad option: " + cfg.render(err)};
  // --NAME=false on the command line wins over the file, like every other option.
  for (auto& name : cl.false_flags)
    if (name == "kafka-exactly-once")
      cfg.kafka_exactly_once = false;
  if (cfg.partitions < 1 || cfg.partitions > 256)
    throw usage_error{"eventide.partitions must be between 1 and 256"};
  if (cfg.kafka_retention_ms < -1 || cfg.kafka_retention_ms == 0)
    throw usage_error{"eventide.kafka-retention-ms must be -1 (keep forever) or positive"};
  if (cfg.timeout < 1)
    throw usage_error{"eventide.timeout must be at least 1 second"};
  if (cfg.max_plan_revisions < 0 || cfg.max_plan_revisions > 100)
    throw usage_error{"eventide.max-plan-revisions must be between 0 and 100"};
  if (cfg.approval_threshold < 0)
    throw usage_error{"eventide.approval-threshold must be >= 0 (whole USD)"};
  if (cfg.approval_timeout_ms < 1)
    throw usage_error{"eventide.approval-timeout-ms must be >= 1"};
  if (cfg.max_turn_invocations < 0 || cfg.max_turn_tokens < 0 || cfg.max_turn_ms < 0)
    throw usage_error{"eventide.max-turn-invocations, max-turn-tokens and max-turn-ms must be >= 0"};
  if (cfg.max_attempts < 1)
    throw usage_error{"eventide.max-attempts must be at least 1"};
  if (cfg.step_timeout_ms < 1 || cfg.retry_base_ms < 0 || cfg.retry_max_ms < cfg.retry_base_ms)
    throw usage_error{"eventide.step-timeout-ms must be positive and retry-base-ms <= retry-max-ms"};
  if (cfg.turn_timeout_ms < 0)
    throw usage_error{"eventide.turn-timeout-ms must be 0 (never) or positive"};
  if (cfg.metrics_port < 0 || cfg.metrics_port > 65535)
    throw usage_error{"eventide.metrics-port must be between 0 (off) and 65535"};
  if (cfg.passivate_after_ms < 0)
    throw usage_error{"eventide.passivate-after-ms must be 0 (never) or positive"};
  if (cfg.memory_turns < 1 || cfg.memory_turns > 1000)
    throw usage_error{"eventide.memory-turns must be between 1 and 1000"};
  if (cfg.memory_tokens < 0 || cfg.memory_tokens > 100000)
    throw usage_error{"eventide.memory-tokens must be between 0 and 100000"};
  if (cfg.crash_loop_limit < 0 || cfg.crash_loop_limit > 1000)
    throw usage_error{"eventide.crash-loop-limit must be between 0 (off) and 1000"};
  if (cfg.tool_concurrency < 1 || cfg.tool_concurrency > 64)
    throw usage_error{"eventide.tool-concurrency must be between 1 and 64"};
  if (cfg.data_dir.empty()) {
    const char* env = std::getenv("EVENTIDE_DATA");
    cfg.data_dir = env && *env ? env : ".eventide";
  }
  static const std::set<std::string> levels = {"", "trace", "debug", "info", "warning", "error", "fatal"};
  if (!levels.count(cfg.log_level))
    throw usage_error{"unknown log level '" + cfg.log_level
                      + "' (trace, debug, info, warning, error, fatal)"};
  std::error_code mk;
  std::filesystem::create_directories(cfg.data_dir, mk);
  if (mk)
    throw usage_error{"cannot create data directory " + cfg.data_dir + ": " + mk.message()};
  for (auto& [key, value] : cfg.provider_values)
    if (!value.empty())
      if (auto r = providers::set_provider_option(cfg.providers, key, value); !r)
        throw usage_error{r.error()};
  if (auto r = providers::check_provider_config(cfg.providers); !r)
    throw usage_error{r.error()};
  if (cfg.resources.empty())
    cfg.resources = providers::resource_root();
  if (!std::filesystem::is_directory(cfg.resources + "/products"))
    throw usage_error{"resources directory " + cfg.resources
                      + " has no products/ (set --resources or EVENTIDE_HOME)"};
  if (cfg.user.empty()) {
    const char* u = std::getenv("USER");
    cfg.user = u && *u ? u : "anonymous";
  }
}

} // namespace eventide::cli
