// eventide — the command-line front end: ask, resume, node, dlq.
//
// Options are CAF config options in the [eventide] group, read from a deployment file
// (--config FILE) and overridable on the command line as `--name value` or `--name=value`.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <caf/all.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/bridges.hpp"
#include "actors/crash_point.hpp"
#include "actors/logging.hpp"
#include "actors/metrics_role.hpp"
#include "actors/node.hpp"
#include "bridge/dead_letter.hpp"
#include "bridge/embedded_log.hpp"
#include "bridge/kafka_log.hpp"
#include "bridge/kv_store.hpp"
#include "core/critical_path.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/prometheus.hpp"
#include "core/plan.hpp"
#include "core/text.hpp"
#include "providers/provider_config.hpp"
#include "providers/tool.hpp"

using namespace eventide;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  // the conversation ended in a failure
constexpr int exit_usage = 2;   // bad command line or config
constexpr int exit_timeout = 3; // no answer within --timeout

const char* usage_text = R"(usage: eventide <command> [options]

commands:
  ask "QUESTION"     plan and answer a question; prints every event live, then the answer
  resume             finish conversations left unanswered (e.g. after a crash) and print them
  node               run roles until SIGTERM/SIGINT (--roles router,orchestrator,...);
                     writes DATA_DIR/health.json every second; SIGUSR1 writes
                     DATA_DIR/orchestrator-digest.txt; --roles metrics runs the metrics
                     projection of the whole log (see docs/metrics.md)
  stats              latency (end to end, per tool, per role), events, consumer lag, dead
                     letters (--json: the metrics role's report)
  trace ID           a conversation's timeline: events, offsets, causes, plan DAG, critical path
  produce TOPIC KEY FILE  append one raw record (FILE or - for stdin) to a topic
  ledger             the workers' ledger: the result recorded per invocation id (node stopped)
  dump [TOPIC...]    every record of the topics (default: all four) as one line each:
                     topic, partition, offset, key, value (tab-separated; \t \n \r \\ escaped)
  dlq list [group=G] [topic=T] [reason=TEXT]   list dead-lettered records
  dlq show P:OFFSET  print one dead letter in full
  dlq redrive P:OFFSET [FILE]  re-submit it (or a fixed version) to its topic, and record that
  roles              list the roles a node can host
  help               this text

options (config key eventide.NAME; on the command line --NAME VALUE):
  --config FILE          deployment file (CAF INI with an [eventide] group)
  --data-dir DIR         embedded log and node-local stores   [$EVENTIDE_DATA or ./.eventide]
  --brokers LIST         Kafka bootstrap servers (empty = embedded log)
  --topic-prefix P       prefix for every topic name
  --partitions N         partitions of new topics              [3]
  --roles LIST           roles to run (comma separated, "all", "workers"; "all" leaves
                         out "metrics", name it to add it)       [ask: all]
  --node-id ID           node name in event sources            [node-1]
  --json                 `ask`: print the full event trace as JSON
  --timeout SECONDS      `ask`/`resume`: give up waiting after  [60]
  --user ID              `ask`: user id                         [$USER]
  --log-level LEVEL      trace|debug|info|warning|error         [warning; node: info]
  --max-attempts N       attempts of a step with retryable errors [3]
  --step-timeout-ms MS   re-request a step with no result after [30000]
  --retry-base-ms MS     retry backoff base                     [200]
  --retry-max-ms MS      retry backoff cap                      [10000]
  --tool-concurrency N   detached runners per worker kind       [2]
  --passivate-after-ms MS  idle running conversations leave memory [60000; 0 = never]
  --metrics-port PORT    node: Prometheus text at http://ADDRESS:PORT/metrics [0 = off]
  --metrics-address A    node: the address it listens on         [127.0.0.1]
  --resources DIR        root of products/, config/, prompts/   [source tree]
  --kafka-version V      broker.version.fallback (0.9.0.1 for Kafka 0.9; empty = modern)
  --session-timeout-ms MS  Kafka consumer group session timeout   [10000]

LLM and HTTP providers (all offline unless set; see README "Providers"):
  --llm-planning-chain, --llm-chat-chain, --llm-rag-chain, --llm-synthesis-chain,
  --llm-embeddings-chain LIST   e.g. "ollama,openai,offline"
  --ollama-url, --ollama-model, --openai-url, --openai-model, --openai-api-key
                         (default $OPENAI_API_KEY), --tools-mode offline|http,
  --weather-url, --exchange-url, --llm-timeout-ms, --http-max-attempts,
  --breaker-failure-threshold, --breaker-open-ms, ... (`eventide help` lists the core ones)

exit status: 0 answered, 1 the conversation failed, 2 usage or config error, 3 timeout
)";

struct config : caf::actor_system_config {
  std::string data_dir;
  std::string brokers;
  std::string topic_prefix;
  int partitions = 3;
  std::string roles;
  std::string node_id = "node-1";
  bool json = false;
  int timeout = 60;
  std::string user;
  std::string log_level;
  int max_attempts = 3;
  int step_timeout_ms = 30000;
  int retry_base_ms = 200;
  int retry_max_ms = 10000;
  int tool_concurrency = 2;
  int passivate_after_ms = 60000;
  int metrics_port = 0;
  std::string metrics_address = "127.0.0.1";
  std::string resources;
  std::string kafka_version;    // broker.version.fallback; "" = a modern broker
  int session_timeout_ms = 10000;
  // LLM and HTTP provider keys (llm-planning-chain, ollama-url, ...), as given; empty = default.
  std::map<std::string, std::string> provider_values;
  providers::provider_config providers; // built from provider_values by load_config

  config() {
    opt_group{custom_options_, "eventide"}
      .add(data_dir, "data-dir", "embedded log and node-local stores")
      .add(brokers, "brokers", "Kafka bootstrap servers (empty = embedded log)")
      .add(topic_prefix, "topic-prefix", "prefix for every topic name")
      .add(partitions, "partitions", "partitions of new topics")
      .add(roles, "roles", "roles of this node, comma separated")
      .add(node_id, "node-id", "node name in event sources")
      .add(json, "json", "print the event trace as JSON")
      .add(timeout, "timeout", "seconds to wait for an answer")
      .add(user, "user", "user id of asked questions")
      .add(log_level, "log-level", "trace|debug|info|warning|error")
      .add(max_attempts, "max-attempts", "attempts of a step with retryable errors")
      .add(step_timeout_ms, "step-timeout-ms", "re-request a step with no result after")
      .add(retry_base_ms, "retry-base-ms", "retry backoff base")
      .add(retry_max_ms, "retry-max-ms", "retry backoff cap")
      .add(tool_concurrency, "tool-concurrency", "detached runners per worker kind")
      .add(passivate_after_ms, "passivate-after-ms", "idle running conversations leave memory after")
      .add(metrics_port, "metrics-port", "node: Prometheus /metrics port (0 = off)")
      .add(metrics_address, "metrics-address", "node: address of the metrics endpoint")
      .add(resources, "resources", "root of products/, config/, prompts/")
      .add(kafka_version, "kafka-version", "broker.version.fallback, e.g. 0.9.0.1; empty = modern")
      .add(session_timeout_ms, "session-timeout-ms", "Kafka consumer group session timeout");
    opt_group providers_group{custom_options_, "eventide"};
    for (auto& key : providers::provider_option_keys())
      providers_group.add(provider_values[key], key, "LLM/HTTP provider setting");
  }

  const caf::config_option_set& eventide_options() const { return custom_options_; }
};

struct usage_error {
  std::string message;
};

[[noreturn]] void die(int code, const std::string& message) {
  std::cerr << "eventide: " << message << std::endl;
  std::exit(code);
}

// Splits argv into positionals and CAF arguments (--eventide.NAME=VALUE), validating names
// against the option set so a typo is one clear line instead of a silently ignored flag.
struct command_line {
  std::vector<std::string> positionals;
  std::vector<std::string> caf_args;
  std::string config_file;
};

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
      else if (*value != "false")
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
  if (cfg.partitions < 1 || cfg.partitions > 256)
    throw usage_error{"eventide.partitions must be between 1 and 256"};
  if (cfg.timeout < 1)
    throw usage_error{"eventide.timeout must be at least 1 second"};
  if (cfg.max_attempts < 1)
    throw usage_error{"eventide.max-attempts must be at least 1"};
  if (cfg.step_timeout_ms < 1 || cfg.retry_base_ms < 0 || cfg.retry_max_ms < cfg.retry_base_ms)
    throw usage_error{"eventide.step-timeout-ms must be positive and retry-base-ms <= retry-max-ms"};
  if (cfg.metrics_port < 0 || cfg.metrics_port > 65535)
    throw usage_error{"eventide.metrics-port must be between 0 (off) and 65535"};
  if (cfg.passivate_after_ms < 0)
    throw usage_error{"eventide.passivate-after-ms must be 0 (never) or positive"};
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

std::set<std::string> parse_roles(const std::string& list) {
  std::set<std::string> roles;
  std::stringstream ss(list);
  std::string r;
  while (std::getline(ss, r, ',')) {
    r.erase(std::remove_if(r.begin(), r.end(), ::isspace), r.end());
    if (r.empty())
      continue;
    if (r == "all") {
      roles.insert(known_roles().begin(), known_roles().end());
    } else if (r == "workers") {
      roles.insert(worker_roles().begin(), worker_roles().end());
    } else {
      auto& k = known_roles();
      auto& o = optional_roles();
      if (std::find(k.begin(), k.end(), r) == k.end() && std::find(o.begin(), o.end(), r) == o.end())
        throw usage_error{"unknown role '" + r + "' (see `eventide roles`)"};
      roles.insert(r);
    }
  }
  if (roles.empty())
    throw usage_error{"no roles given (--roles router,orchestrator,... or all)"};
  return roles;
}

node_options make_node_options(const config& cfg, std::set<std::string> roles) {
  node_options o;
  o.roles = std::move(roles);
  o.node_id = cfg.node_id;
  o.data_dir = cfg.data_dir;
  o.topic_prefix = cfg.topic_prefix;
  o.resources = cfg.resources;
  o.policy.max_attempts = cfg.max_attempts;
  o.policy.step_timeout_ms = cfg.step_timeout_ms;
  o.policy.retry_backoff.base_ms = cfg.retry_base_ms;
  o.policy.retry_backoff.max_ms = cfg.retry_max_ms;
  o.tool_concurrency = static_cast<size_t>(cfg.tool_concurrency);
  o.passivate_after_ms = cfg.passivate_after_ms;
  o.providers = cfg.providers;
  return o;
}

std::shared_ptr<bridge::log> open_log(const config& cfg) {
  if (!cfg.brokers.empty()) {
    bridge::kafka_options ko;
    ko.brokers = cfg.brokers;
    ko.broker_version_fallback = cfg.kafka_version;
    ko.partitions = cfg.partitions;
    ko.create_topics = cfg.kafka_version.empty(); // Kafka 0.9 has no CreateTopics API
    ko.session_timeout_ms = cfg.session_timeout_ms;
    ko.client_id = "eventide-" + cfg.node_id;
    auto l = bridge::open_kafka_log(ko);
    if (!l)
      die(exit_usage, l.error());
    return std::shared_ptr<bridge::log>(std::move(*l));
  }
  bridge::embedded_options eo;
  eo.dir = cfg.data_dir + "/log";
  eo.partitions = cfg.partitions;
  auto l = bridge::open_embedded_log(eo);
  if (!l)
    die(exit_usage, l.error());
  return std::shared_ptr<bridge::log>(std::move(*l));
}

std::string new_conversation_id() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd()
                      ^ static_cast<uint64_t>(now_ms()));
  uint64_t a = gen(), b = gen();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// -- progress printing ---------------------------------------------------------------------------

std::string summarize(const events::event& e) {
  return std::visit(
    [](const auto& d) -> std::string {
      using T = std::decay_t<decltype(d)>;
      if constexpr (std::is_same_v<T, events::user_query_received>) {
        return "\"" + d.query + "\"";
      } else if constexpr (std::is_same_v<T, events::plan_generated>) {
        std::string s = "v" + std::to_string(d.plan_version) + " by " + d.planner_provider
                        + "/" + d.planner_model + ":";
        if (auto doc = json::parse(d.plan_json); doc && (*doc).HasMember("steps"))
          for (auto& st : (*doc)["steps"].GetArray())
            s += " " + json::to_text(st["id"]) + "=" + json::to_text(st["tool"]);
        return s;
      } else if constexpr (std::is_same_v<T, events::planning_failed>) {
        return d.reason;
      } else if constexpr (std::is_same_v<T, events::tool_invocation_requested>) {
        return d.step_id + " " + d.tool + " attempt " + std::to_string(d.attempt) + " "
               + d.args_json;
      } else if constexpr (std::is_same_v<T, events::tool_invocation_resulted>) {
        auto s = d.step_id + " " + d.tool + (d.ok ? " ok" : " error") + " in "
                 + std::to_string(d.worker_ms) + " ms";
        return d.ok ? s : s + ": " + d.error + (d.retryable ? " (retryable)" : "");
      } else if constexpr (std::is_same_v<T, events::plan_step_completed>) {
        return d.step_id + " " + d.status + " after " + std::to_string(d.attempts)
               + (d.attempts == 1 ? " attempt" : " attempts");
      } else if constexpr (std::is_same_v<T, events::plan_completed>) {
        return "all steps done";
      } else if constexpr (std::is_same_v<T, events::plan_failed>) {
        return d.reason;
      } else if constexpr (std::is_same_v<T, events::synthesize_final_answer_requested>) {
        return d.failure.empty() ? "results ready" : "failure: " + d.failure;
      } else {
        return "by " + d.provider + "/" + d.model;
      }
    },
    e.data);
}

// Follows one conversation's partitions and prints its events until the final answer.
struct follower {
  std::unique_ptr<bridge::consumer> consumer;
  std::string conversation;
  bool json = false;
  int64_t started_ms = 0;
  std::vector<std::string> trace; // raw event JSON, for --json
};

int follow(follower& f, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool plan_failed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto batch = f.consumer->poll(64, std::chrono::milliseconds(100));
    if (!batch)
      die(exit_failed, "reading the log failed: " + batch.error());
    // Two topics are followed; within a batch show events in the order they happened.
    std::vector<std::pair<events::event, std::string>> ready;
    for (auto& rec : *batch) {
      if (rec.key != f.conversation)
        continue;
      auto ev = events::decode(rec.value);
      if (ev) // an undecodable record is dead-lettered by the roles; the user sees the outcome
        ready.emplace_back(std::move(*ev), std::move(rec.value));
    }
    std::stable_sort(ready.begin(), ready.end(), [](const auto& a, const auto& b) {
      return a.first.time_ms < b.first.time_ms;
    });
    for (auto& [decoded, raw] : ready) {
      auto* ev = &decoded;
      if (f.json) {
        f.trace.push_back(raw);
      } else {
        char head[64];
        std::snprintf(head, sizeof head, "[%7.1f ms] %-24s ",
                      static_cast<double>(ev->time_ms - f.started_ms), events::type_name(ev->data));
        std::cout << head << summarize(*ev) << std::endl;
      }
      if (std::holds_alternative<events::plan_failed>(ev->data)
          || std::holds_alternative<events::planning_failed>(ev->data))
        plan_failed = true;
      if (auto a = std::get_if<events::final_answer_synthesized>(&ev->data)) {
        if (f.json) {
          std::cout << "{\"conversationId\":\"" << f.conversation << "\",\"events\":[";
          for (size_t i = 0; i < f.trace.size(); ++i)
            std::cout << (i ? "," : "") << f.trace[i];
          std::cout << "]}" << std::endl;
        } else {
          std::cout << "\nAnswer:\n" << a->answer << std::endl;
          if (!a->citations.empty()) {
            std::cout << "\nSources:";
            for (auto& c : a->citations)
              std::cout << " " << c;
            std::cout << std::endl;
          }
        }
        return a->failed || plan_failed ? exit_failed : exit_ok;
      }
    }
  }
  std::cerr << "eventide: no answer for conversation " << f.conversation << " within "
            << timeout.count() << " s; it continues in the log (run `eventide resume`)"
            << std::endl;
  return exit_timeout;
}

// -- commands ------------------------------------------------------------------------------------

int run_ask(config& cfg, const command_line& cl) {
  if (cl.positionals.size() != 1)
    throw usage_error{"ask takes exactly one question in quotes: eventide ask \"...\""};
  auto question = cl.positionals[0];
  if (question.find_first_not_of(" \t\r\n") == std::string::npos)
    throw usage_error{"the question is empty"};
  if (question.size() > 4000)
    throw usage_error{"the question is longer than 4000 characters"};
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level, cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  caf::actor_system sys{cfg};
  // On the embedded log every role runs in this process by default (a subset simulates roles
  // that are down); on Kafka, `ask` is only the ingress unless --roles says otherwise.
  std::unique_ptr<node> n;
  auto roles = cfg.roles.empty() && cfg.brokers.empty() ? std::string("all") : cfg.roles;
  if (!roles.empty()) {
    n = std::make_unique<node>(sys, log, make_node_options(cfg, parse_roles(roles)));
    if (auto r = n->start(); !r)
      die(exit_usage, r.error());
  }

  follower f;
  f.conversation = new_conversation_id();
  f.json = cfg.json;
  topics t(cfg.topic_prefix);
  std::vector<std::pair<bridge::topic_partition, int64_t>> start;
  for (auto& topic : {t.conversation_events, t.tool_requests}) {
    auto parts = log->partition_count(topic);
    if (!parts)
      die(exit_failed, parts.error());
    bridge::topic_partition tp{topic, bridge::partition_for_key(f.conversation, *parts)};
    auto wm = log->query_watermarks(tp);
    start.emplace_back(tp, wm ? wm->high : 0);
  }
  auto consumer = log->assign(start);
  if (!consumer)
    die(exit_failed, consumer.error());
  f.consumer = std::move(*consumer);

  events::event q;
  q.subject = f.conversation;
  q.data = events::user_query_received{f.conversation, cfg.user, question, now_ms()};
  q.id = f.conversation + "/query";
  q.source = "eventide/ingress/" + cfg.node_id;
  q.time_ms = now_ms();
  f.started_ms = q.time_ms;
  auto bytes = events::encode(q);
  if (!bytes)
    die(exit_usage, "cannot ask this question: " + bytes.error());
  if (!cfg.json)
    std::cout << "conversation " << f.conversation << " on " << log->describe() << std::endl;
  std::optional<std::string> produce_error;
  log->produce(t.user_commands, f.conversation, *bytes, [&](outcome<bridge::position> r) {
    if (!r)
      produce_error = r.error();
  });
  if (auto fl = log->flush(std::chrono::seconds(10)); !fl)
    produce_error = fl.error();
  if (produce_error)
    die(exit_failed, "could not write the question to the log: " + *produce_error);
  if (!cfg.json)
    std::cout << "[    0.0 ms] " << std::left << std::setw(24) << "UserQueryReceived"
              << summarize(q) << std::endl;
  auto rc = follow(f, std::chrono::seconds(cfg.timeout));
  if (n)
    n->stop();
  return rc;
}

// Reads `topics` (all partitions, or only the one holding `key` when given) from their first
// stored offset up to the high watermark of now, calling f for each record.
void read_to_end(bridge::log& log, const std::vector<std::string>& topic_names,
                 const std::function<void(const bridge::record&)>& f,
                 const std::string& key = "") {
  std::vector<std::pair<bridge::topic_partition, int64_t>> start;
  std::map<bridge::topic_partition, int64_t> ends;
  // A topic or partition that cannot be looked up is an error, never skipped: a reader that
  // silently reads less would make a missing record look like none was written.
  for (auto& topic : topic_names) {
    auto parts = log.partition_count(topic);
    if (!parts)
      die(exit_failed, "cannot read " + topic + ": " + parts.error());
    for (int32_t p = 0; p < *parts; ++p) {
      if (!key.empty() && p != bridge::partition_for_key(key, *parts))
        continue;
      bridge::topic_partition tp{topic, p};
      auto wm = log.query_watermarks(tp);
      if (!wm)
        die(exit_failed, "cannot read " + topic + "/" + std::to_string(p) + ": " + wm.error());
      if (wm->high > wm->low) {
        start.emplace_back(tp, wm->low);
        ends[tp] = wm->high;
      }
    }
  }
  if (start.empty())
    return;
  auto c = log.assign(start);
  if (!c)
    die(exit_failed, c.error());
  while (true) {
    bool done = true;
    for (auto& [tp, end] : ends)
      if ((*c)->position_of(tp).value_or(end) < end)
        done = false;
    if (done)
      return;
    auto batch = (*c)->poll(1024, std::chrono::milliseconds(100));
    if (!batch)
      die(exit_failed, "reading the log failed: " + batch.error());
    for (auto& rec : *batch)
      if (key.empty() || rec.key == key)
        f(rec);
  }
}

// Conversations with a question and no final answer yet.
std::set<std::string> unanswered(bridge::log& log, const topics& t) {
  std::set<std::string> asked, answered;
  read_to_end(log, {t.user_commands, t.conversation_events}, [&](const bridge::record& rec) {
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

int run_resume(config& cfg, const command_line& cl) {
  if (!cl.positionals.empty())
    throw usage_error{"resume takes no arguments"};
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level, cfg.data_dir + "/eventide.log");
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
  std::vector<std::pair<bridge::topic_partition, int64_t>> start;
  for (int32_t p = 0; parts && p < *parts; ++p)
    start.emplace_back(bridge::topic_partition{t.conversation_events, p}, 0);
  auto c = log->assign(start);
  if (!c)
    die(exit_failed, c.error());
  caf::actor_system sys{cfg};
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

// A minimal HTTP endpoint for Prometheus (loopback unless --metrics-address), served from the
// node's main loop: the socket is non-blocking, so a slow client never stalls the node (and no
// actor blocks on it).
class metrics_endpoint {
 public:
  outcome<void> listen(const std::string& address, int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    // Loopback by default; a container sets 0.0.0.0 so that Prometheus can reach it.
    if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
      return fail("eventide.metrics-address '" + address + "' is not an IPv4 address");
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || ::listen(fd_, 16) != 0)
      return fail("cannot serve metrics on " + address + ":" + std::to_string(port) + ": "
                  + std::strerror(errno));
    return {};
  }

  ~metrics_endpoint() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// Answers waiting requests: GET /metrics gets `body()`, anything else 404.
  template <class Body>
  void serve(Body&& body) {
    if (fd_ < 0)
      return;
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        return; // nothing waiting (EAGAIN) or a transient error: try again next round
      timeval tv{0, 200000};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      char buf[1024];
      auto n = ::recv(c, buf, sizeof buf - 1, 0);
      std::string request(buf, n > 0 ? static_cast<size_t>(n) : 0);
      std::string status = "404 Not Found", type = "text/plain", text = "not found\n";
      if (request.rfind("GET /metrics", 0) == 0) {
        status = "200 OK";
        type = "text/plain; version=0.0.4";
        text = body();
      }
      auto response = "HTTP/1.1 " + status + "\r\nContent-Type: " + type
                      + "\r\nContent-Length: " + std::to_string(text.size())
                      + "\r\nConnection: close\r\n\r\n" + text;
      (void) ::send(c, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

 private:
  int fd_ = -1;
};

std::atomic<bool> stop_requested{false};
std::atomic<bool> digest_requested{false};

int run_node(config& cfg, const command_line& cl) {
  if (!cl.positionals.empty())
    throw usage_error{"node takes no positional arguments"};
  auto roles = parse_roles(cfg.roles);
  init_logging(cfg.log_level.empty() ? "info" : cfg.log_level);
  auto log = open_log(cfg);
  metrics_endpoint metrics;
  if (cfg.metrics_port > 0)
    if (auto r = metrics.listen(cfg.metrics_address, cfg.metrics_port); !r)
      throw usage_error{r.error()};
  caf::actor_system sys{cfg};
  node n{sys, log, make_node_options(cfg, roles)};
  if (auto r = n.start(); !r)
    die(exit_usage, r.error());
  std::signal(SIGINT, [](int) { stop_requested = true; });
  std::signal(SIGTERM, [](int) { stop_requested = true; });
  std::string list;
  for (auto& r : roles)
    list += (list.empty() ? "" : ",") + r;
  std::cout << "eventide node " << cfg.node_id << " ready: roles=" << list << " log="
            << log->describe() << std::endl;
  // SIGUSR1: write the orchestrator's state digest (for replay == live checks).
  std::signal(SIGUSR1, [](int) { digest_requested = true; });
  auto health_path = cfg.data_dir + "/health.json";
  auto next_health = std::chrono::steady_clock::now();
  while (!stop_requested) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    metrics.serve([&] {
      auto text = core::prometheus_text(n.health());
      return text ? *text : "# " + text.error() + "\n";
    });
    if (std::chrono::steady_clock::now() >= next_health) {
      // Health for operators and probes: counters and the last errors of log and bridges.
      std::ofstream(health_path + ".tmp") << n.health() << "\n";
      std::filesystem::rename(health_path + ".tmp", health_path);
      next_health += std::chrono::seconds(1);
    }
    if (digest_requested.exchange(false)) {
      auto d = n.orchestrator_digest();
      auto path = cfg.data_dir + "/orchestrator-digest.txt";
      if (!d) {
        EV_LOG(warning) << "no digest: " << d.error();
        continue;
      }
      std::ofstream(path + ".tmp") << *d;
      std::filesystem::rename(path + ".tmp", path);
      EV_LOG(info) << "wrote " << path;
    }
  }
  EV_LOG(info) << "node " << cfg.node_id << " stopping";
  n.stop();
  std::cout << "eventide node " << cfg.node_id << " stopped" << std::endl;
  return exit_ok;
}

// A dead letter's address in the DLQ topic: "PARTITION:OFFSET".
struct dlq_address {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string text() const { return std::to_string(partition) + ":" + std::to_string(offset); }
};

dlq_address parse_dlq_address(const std::string& s) {
  auto colon = s.find(':');
  try {
    if (colon == std::string::npos)
      throw std::invalid_argument(s);
    size_t used1 = 0, used2 = 0;
    auto p = std::stoi(s.substr(0, colon), &used1);
    auto o = std::stoll(s.substr(colon + 1), &used2);
    if (used1 != colon || used2 != s.size() - colon - 1 || p < 0 || o < 0)
      throw std::invalid_argument(s);
    return {p, o};
  } catch (const std::exception&) {
    throw usage_error{"a dead letter is addressed as PARTITION:OFFSET (see `eventide dlq list`), got '"
                      + s + "'"};
  }
}

// Dead letters in the DLQ topic, and which of them were redriven (markers in the same topic).
struct dlq_contents {
  std::vector<std::pair<dlq_address, bridge::dead_letter>> letters;
  std::map<std::string, std::string> redriven; // address -> where it went
  std::map<std::string, std::string> raw;      // address -> record value
};

dlq_contents read_dlq(bridge::log& log, const topics& t) {
  dlq_contents c;
  read_to_end(log, {t.dead_letters}, [&](const bridge::record& rec) {
    dlq_address at{rec.partition, rec.offset};
    if (auto doc = json::parse(rec.value); doc && doc->IsObject() && doc->HasMember("redriveOf")) {
      c.redriven[json::get_string(*doc, "redriveOf").value_or("")] =
        json::get_string(*doc, "to").value_or("?");
      return;
    }
    if (auto dl = bridge::decode_dead_letter(rec.value)) {
      c.raw[at.text()] = rec.value;
      c.letters.emplace_back(at, std::move(*dl));
    }
  });
  return c;
}

int run_dlq(config& cfg, const command_line& cl) {
  const char* usage = "usage: eventide dlq list [group=G] [topic=T] [reason=TEXT] | "
                      "dlq show P:OFFSET | dlq redrive P:OFFSET [FIXED_VALUE_FILE]";
  if (cl.positionals.empty())
    throw usage_error{usage};
  const auto& verb = cl.positionals[0];
  if (verb != "list" && verb != "show" && verb != "redrive")
    throw usage_error{usage};
  std::map<std::string, std::string> filters;
  std::optional<dlq_address> wanted;
  std::string fixed_file;
  if (verb == "list") {
    for (size_t i = 1; i < cl.positionals.size(); ++i) {
      auto& f = cl.positionals[i];
      auto eq = f.find('=');
      auto k = f.substr(0, eq);
      if (eq == std::string::npos || (k != "group" && k != "topic" && k != "reason"))
        throw usage_error{"unknown filter '" + f + "' (group=G, topic=T, reason=TEXT)"};
      filters[k] = f.substr(eq + 1);
    }
  } else {
    if (cl.positionals.size() < 2 || cl.positionals.size() > (verb == "redrive" ? 3u : 2u))
      throw usage_error{usage};
    wanted = parse_dlq_address(cl.positionals[1]);
    if (cl.positionals.size() == 3)
      fixed_file = cl.positionals[2];
  }
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level);
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  auto dlq = read_dlq(*log, t);
  if (verb == "list") {
    size_t count = 0;
    for (auto& [at, dl] : dlq.letters) {
      auto has = [&](const char* k, const std::string& v) {
        auto it = filters.find(k);
        return it == filters.end() || v.find(it->second) != std::string::npos;
      };
      if (!has("group", dl.consumer_group) || !has("topic", dl.source_topic)
          || !has("reason", dl.reason))
        continue;
      auto r = dlq.redriven.find(at.text());
      std::cout << at.text() << "  " << dl.source_topic << "/" << dl.partition << "@" << dl.offset
                << "  group=" << dl.consumer_group << "  key=" << dl.key << "  " << dl.reason
                << (r != dlq.redriven.end() ? "  [redriven to " + r->second + "]" : "")
                << std::endl;
      ++count;
    }
    std::cout << count << " dead letter" << (count == 1 ? "" : "s") << std::endl;
    return exit_ok;
  }
  auto it = std::find_if(dlq.letters.begin(), dlq.letters.end(), [&](const auto& x) {
    return x.first.partition == wanted->partition && x.first.offset == wanted->offset;
  });
  if (it == dlq.letters.end())
    die(exit_failed, "no dead letter at " + wanted->text());
  if (verb == "show") {
    std::cout << dlq.raw[wanted->text()] << std::endl;
    return exit_ok;
  }
  // redrive: the original bytes (or a fixed version) back to the source topic, same key.
  const auto& letter = it->second;
  if (auto r = dlq.redriven.find(wanted->text()); r != dlq.redriven.end())
    die(exit_failed, "dead letter " + wanted->text() + " was already redriven to " + r->second);
  std::string value;
  if (!fixed_file.empty()) {
    std::ifstream in(fixed_file, std::ios::binary);
    if (!in)
      die(exit_usage, "cannot read " + fixed_file);
    value.assign(std::istreambuf_iterator<char>(in), {});
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
      value.pop_back();
  } else {
    auto original = bridge::original_value(letter);
    if (!original)
      die(exit_failed, original.error() + " (pass a fixed value file)");
    value = std::move(*original);
  }
  // Refuse to redrive what would be dead-lettered again right away.
  if (auto ev = events::decode(value); !ev)
    die(exit_failed, "the record would be dead-lettered again: " + ev.error()
                       + " (fix it and pass the fixed value file)");
  auto produce = [&](const std::string& topic, const std::string& key, const std::string& v) {
    std::optional<outcome<bridge::position>> result;
    log->produce(topic, key, v, [&](outcome<bridge::position> r) { result = std::move(r); });
    if (auto fl = log->flush(std::chrono::seconds(10)); !fl)
      die(exit_failed, "redrive failed: " + fl.error());
    if (!result || !*result)
      die(exit_failed, "redrive failed: " + (result ? result->error() : std::string("no delivery")));
    return **result;
  };
  auto pos = produce(letter.source_topic, letter.key, value);
  auto to = letter.source_topic + "/" + std::to_string(pos.partition) + "@" + std::to_string(pos.offset);
  json::document marker;
  marker.SetObject();
  auto& a = marker.GetAllocator();
  marker.AddMember("redriveOf", json::str(wanted->text(), a), a);
  marker.AddMember("to", json::str(to, a), a);
  marker.AddMember("fixed", !fixed_file.empty(), a);
  marker.AddMember("at", now_ms(), a);
  produce(t.dead_letters, letter.key, json::dump(marker));
  std::cout << "redrove " << wanted->text() << " to " << to << std::endl;
  return exit_ok;
}

// The conversation's timeline from the log: every event with its position, time and cause,
// then the plan DAG with per-step latency and the critical path.
int run_trace(config& cfg, const command_line& cl) {
  if (cl.positionals.size() != 1)
    throw usage_error{"usage: eventide trace CONVERSATION_ID"};
  const auto& conv = cl.positionals[0];
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level);
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  struct entry {
    std::string where;
    events::event ev;
    std::string raw;
  };
  std::vector<entry> entries;
  read_to_end(*log, {t.user_commands, t.conversation_events, t.tool_requests},
              [&](const bridge::record& rec) {
                if (auto ev = events::decode(rec.value))
                  entries.push_back({rec.topic + "/" + std::to_string(rec.partition) + "@"
                                       + std::to_string(rec.offset),
                                     std::move(*ev), rec.value});
              },
              conv);
  if (entries.empty())
    die(exit_failed, "no events for conversation " + conv + " in " + log->describe());
  std::stable_sort(entries.begin(), entries.end(),
                   [](const entry& a, const entry& b) { return a.ev.time_ms < b.ev.time_ms; });
  if (cfg.json) {
    std::cout << "{\"conversationId\":\"" << conv << "\",\"events\":[";
    for (size_t i = 0; i < entries.size(); ++i)
      std::cout << (i ? "," : "") << entries[i].raw;
    std::cout << "]}" << std::endl;
    return exit_ok;
  }
  auto t0 = entries.front().ev.time_ms;
  auto short_id = [&](const std::string& id) {
    return id.rfind(conv + "/", 0) == 0 ? id.substr(conv.size() + 1) : id;
  };
  std::cout << "conversation " << conv << ": " << entries.size() << " events\n\n";
  std::printf("%-34s %8s  %-31s %-28s %s\n", "position", "+ms", "type", "id", "caused by");
  std::optional<events::plan_generated> plan;
  std::map<std::string, int64_t> requested_at, resulted_at;
  std::optional<int64_t> answered_at;
  // LLM token usage of the conversation: planning, each step's result, synthesis.
  struct usage {
    int64_t prompt = 0, completion = 0;
    bool any = false;
    void add(int64_t p, int64_t c) {
      if (p < 0 && c < 0)
        return;
      prompt += std::max<int64_t>(p, 0);
      completion += std::max<int64_t>(c, 0);
      any = true;
    }
  };
  usage total;
  std::map<std::string, usage> step_tokens;
  for (auto& e : entries) {
    std::printf("%-34s %8.1f  %-31s %-28s %s\n", e.where.c_str(),
                static_cast<double>(e.ev.time_ms - t0), events::type_name(e.ev.data),
                short_id(e.ev.id).c_str(),
                e.ev.causation_id.empty() ? "-" : short_id(e.ev.causation_id).c_str());
    if (auto g = std::get_if<events::plan_generated>(&e.ev.data); g && !plan) {
      plan = *g;
      total.add(g->prompt_tokens, g->completion_tokens);
    }
    if (auto r = std::get_if<events::tool_invocation_requested>(&e.ev.data))
      requested_at.emplace(r->step_id, e.ev.time_ms);
    if (auto r = std::get_if<events::tool_invocation_resulted>(&e.ev.data)) {
      // Each step counts once (a duplicate result is the same effect).
      if (resulted_at.emplace(r->step_id, e.ev.time_ms).second && r->ok)
        if (auto res = json::parse(r->result_json); res && res->IsObject())
          if (auto tk = json::find_path(*res, "tokens"); tk && tk->IsObject()) {
            auto p = json::get_int(*tk, "prompt").value_or(-1);
            auto c = json::get_int(*tk, "completion").value_or(-1);
            step_tokens[r->step_id].add(p, c);
            total.add(p, c);
          }
    }
    if (auto a = std::get_if<events::final_answer_synthesized>(&e.ev.data); a && !answered_at) {
      answered_at = e.ev.time_ms;
      total.add(a->prompt_tokens, a->completion_tokens);
    }
  }
  if (answered_at)
    std::cout << "\nquestion to answer: " << (*answered_at - t0) << " ms\n";
  if (total.any)
    std::cout << "LLM tokens: " << total.prompt << " prompt + " << total.completion
              << " completion = " << (total.prompt + total.completion)
              << " (planning, steps and synthesis)\n";
  if (!plan)
    return exit_ok;
  auto parsed = core::parse_plan(plan->plan_json);
  if (!parsed)
    return exit_ok;
  std::cout << "\nplan v" << plan->plan_version << " by " << plan->planner_provider << "/"
            << plan->planner_model << " (planned in " << plan->planning_ms << " ms):\n";
  std::vector<core::timed_step> timed;
  for (auto& st : parsed->steps) {
    std::string deps;
    for (auto& d : st.depends_on)
      deps += (deps.empty() ? " <- " : ", ") + d;
    auto rq = requested_at.find(st.id);
    auto rs = resulted_at.find(st.id);
    int64_t ms = rq != requested_at.end() && rs != resulted_at.end() ? rs->second - rq->second : 0;
    std::string took = rs == resulted_at.end() ? "no result" : std::to_string(ms) + " ms";
    if (auto tk = step_tokens.find(st.id); tk != step_tokens.end())
      took += ", " + std::to_string(tk->second.prompt + tk->second.completion) + " tokens";
    std::printf("  %-4s %-24s %-14s %s\n", st.id.c_str(), st.tool.c_str(), deps.c_str(),
                took.c_str());
    timed.push_back({st.id, st.depends_on, ms});
  }
  std::string path;
  for (auto& id : core::critical_path(timed))
    path += (path.empty() ? "" : " -> ") + id;
  std::cout << "critical path: " << path << std::endl;
  return exit_ok;
}

// The workers' ledger: the result recorded per invocation id (what a duplicate request is
// answered with). It says what was recorded, not how often a tool ran: a crash after a tool's
// effect and before its ledger write runs the tool again (README "Crash points").
int run_ledger(config& cfg, const command_line& cl) {
  if (!cl.positionals.empty())
    throw usage_error{"usage: eventide ledger [--data-dir DIR]"};
  auto dir = cfg.data_dir + "/worker-ledger";
  if (!std::filesystem::exists(dir))
    die(exit_failed, "no worker ledger at " + dir);
  auto kv = bridge::kv_store::open(dir);
  if (!kv)
    die(exit_failed, kv.error());
  size_t n = 0;
  auto r = (*kv)->scan("r/", [&](const std::string& k, const std::string& v) {
    std::cout << k.substr(2);
    if (auto ev = events::decode(v); ev) {
      if (auto res = std::get_if<events::tool_invocation_resulted>(&ev->data))
        std::cout << " attempt=" << res->attempt << " " << (res->ok ? "ok" : "error");
    } else {
      std::cout << " unreadable: " << ev.error();
    }
    std::cout << "\n";
    ++n;
  });
  if (!r)
    die(exit_failed, r.error());
  std::cout << n << " recorded result" << (n == 1 ? "" : "s") << std::endl;
  return exit_ok;
}

// Every record of some topics, one line each, for tests and people that check the log itself
// (counting records, not ids): topic, partition, offset, key, value; tab-separated, with tab,
// newline, carriage return and backslash escaped so that a line is a record.
int run_dump(config& cfg, const command_line& cl) {
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level);
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  std::vector<std::string> names;
  for (auto& p : cl.positionals)
    names.push_back(cfg.topic_prefix + p);
  if (names.empty())
    names = {t.user_commands, t.conversation_events, t.tool_requests, t.dead_letters};
  read_to_end(*log, names, [&](const bridge::record& rec) {
    std::cout << rec.topic.substr(cfg.topic_prefix.size()) << '\t' << rec.partition << '\t'
              << rec.offset << '\t' << core::escape(rec.key) << '\t' << core::escape(rec.value)
              << '\n';
  });
  std::cout.flush();
  return exit_ok;
}

// Appends one raw record (any bytes) to a topic: kcat's job for the embedded log.
int run_produce(config& cfg, const command_line& cl) {
  if (cl.positionals.size() != 3)
    throw usage_error{"usage: eventide produce TOPIC KEY VALUE_FILE (- for stdin)"};
  std::string value;
  if (cl.positionals[2] == "-") {
    value.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(cl.positionals[2], std::ios::binary);
    if (!in)
      throw usage_error{"cannot read " + cl.positionals[2]};
    value.assign(std::istreambuf_iterator<char>(in), {});
  }
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level);
  auto log = open_log(cfg);
  std::optional<outcome<bridge::position>> result;
  auto topic = cfg.topic_prefix + cl.positionals[0];
  log->produce(topic, cl.positionals[1], value,
               [&](outcome<bridge::position> r) { result = std::move(r); });
  if (auto fl = log->flush(std::chrono::seconds(10)); !fl)
    die(exit_failed, fl.error());
  if (!result || !*result)
    die(exit_failed, result ? result->error() : "no delivery report");
  std::cout << topic << "/" << (*result)->partition << "@" << (*result)->offset << std::endl;
  return exit_ok;
}

// The metrics projection over the whole log, plus consumer lag per group (high watermark minus
// committed offset, summed over the group's partitions): the metrics role's fold, run once.
int run_stats(config& cfg, const command_line& cl) {
  if (!cl.positionals.empty())
    throw usage_error{"usage: eventide stats [--json]"};
  init_logging(cfg.log_level.empty() ? "warning" : cfg.log_level);
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  core::metrics_fold fold; // every latency sample: the log is read once
  // Folded in batches like the metrics role does (event-time order across partitions).
  std::vector<bridge::record> batch;
  auto fold_pending = [&] {
    fold_batch(fold, batch, t, cfg.topic_prefix, [](const bridge::record&, const std::string&) {});
    batch.clear();
  };
  read_to_end(*log, {t.user_commands, t.conversation_events, t.tool_requests, t.dead_letters},
              [&](const bridge::record& rec) {
                batch.push_back(rec);
                if (batch.size() == 1024)
                  fold_pending();
              });
  fold_pending();
  auto r = fold.report();
  auto lag = consumer_lag(*log, cfg.topic_prefix, pipeline_groups(t));
  // Events/s per topic over the time span of the events (the role uses a trailing window).
  core::rate_window span;
  span.add(r.first_ms, {});
  span.add(r.last_ms, r.events_by_topic);
  auto lat = [](const core::latency_summary& l) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%6zu  %8.1f %8.1f %8.1f %8.1f %8.1f", l.count, l.mean_ms,
                  l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms);
    return std::string(buf);
  };
  if (cfg.json) {
    std::cout << json::dump(core::metrics_json(r, lag, span.per_second())) << std::endl;
    return exit_ok;
  }
  std::cout << "conversations: " << r.conversations << " (" << r.answered << " answered, "
            << r.failed << " of them failed, " << r.open << " open)\n";
  std::printf("\n%-30s %6s  %8s %8s %8s %8s %8s\n", "latency (ms)", "count", "mean", "p50", "p95",
              "p99", "max");
  std::printf("%-30s %s\n", "question -> answer", lat(r.end_to_end).c_str());
  for (auto& [tool, l] : r.per_tool)
    std::printf("%-30s %s\n", tool.c_str(), lat(l).c_str());
  std::printf("\n%-30s %6s  %8s %8s %8s %8s %8s\n", "processing (ms)", "count", "mean", "p50",
              "p95", "p99", "max");
  for (auto& [role, l] : r.per_role)
    std::printf("%-30s %s\n", role.c_str(), lat(l).c_str());
  std::cout << "\nevents: ";
  size_t n = 0;
  for (auto& [type, c] : r.events_by_type)
    n += c;
  std::printf("%zu (%.0f/s over their time span); tool errors %zu, retries %zu\n", n,
              r.events_per_second, r.tool_errors, r.retries);
  for (auto& [topic, c] : r.events_by_topic)
    std::printf("  %-28s %8zu\n", topic.c_str(), c);
  std::cout << "\nconsumer lag (records not yet committed):\n";
  for (auto& [g, l] : lag)
    std::printf("  %-28s %8lld\n", g.c_str(), static_cast<long long>(l));
  std::cout << "\ndead letters:";
  if (r.dead_letters_by_group.empty())
    std::cout << " none";
  std::cout << "\n";
  for (auto& [g, c] : r.dead_letters_by_group)
    std::printf("  %-28s %8zu\n", g.c_str(), c);
  if (!r.undecodable_by_topic.empty()) {
    std::cout << "\nundecodable records (dead-lettered by the groups that read them):\n";
    for (auto& [topic, c] : r.undecodable_by_topic)
      std::printf("  %-28s %8zu\n", topic.c_str(), c);
  }
  return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage_text;
    return exit_usage;
  }
  std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << usage_text;
    return exit_ok;
  }
  if (cmd == "roles") {
    for (auto& r : known_roles())
      std::cout << r << "\n";
    for (auto& r : optional_roles())
      std::cout << r << "\n";
    return exit_ok;
  }
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
    if (cmd == "ask")
      return run_ask(cfg, cl);
    if (cmd == "resume")
      return run_resume(cfg, cl);
    if (cmd == "node")
      return run_node(cfg, cl);
    if (cmd == "dlq")
      return run_dlq(cfg, cl);
    if (cmd == "trace")
      return run_trace(cfg, cl);
    if (cmd == "ledger")
      return run_ledger(cfg, cl);
    if (cmd == "stats")
      return run_stats(cfg, cl);
    if (cmd == "produce")
      return run_produce(cfg, cl);
    if (cmd == "dump")
      return run_dump(cfg, cl);
    throw usage_error{"unknown command '" + cmd + "' (see `eventide help`)"};
  } catch (const usage_error& e) {
    std::cerr << "eventide: " << e.message << std::endl;
    return exit_usage;
  }
}
