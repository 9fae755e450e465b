// A node: one CAF actor system hosting one or more roles over one log (DESIGN §6). The embedded
// default runs every role in one process.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "storage/log.hpp"
#include "core/plan_state.hpp"
#include "providers/provider_config.hpp"
#include "shop/service.hpp"
#include "model/events.hpp"

namespace eventide {

/// Scheduler settings for a node's actor system; call before the system is built (settings
/// given later by the user still win).
void tune_scheduler(caf::actor_system_config& cfg);

/// Topic names with the configured prefix.
struct topics {
  std::string user_commands, conversation_events, tool_requests, dead_letters;
  explicit topics(const std::string& prefix);
};

struct node_state; // a node being started or running (actors/node.cpp)

/// A role a node can host: its consumer bridge's settings and how to start it.
struct role_spec {
  std::string name;                            // as in --roles: "router", "worker-math", ...
  std::string group;                           // consumer group without the topic prefix
                                               // (workers: "tool-<tool>"); empty: none
  std::vector<std::string topics::*> reads;    // the topics the group subscribes
  bool restore = false;                        // rebuilt from the log on assignment
  bool optional = false;                       // hosted only when named, never by "all"
  /// Spawns the role's actors and its consumer bridge on a starting node.
  outcome<void> (*start)(node_state& node, const role_spec& role) = nullptr;

  /// The topics the role reads, with the prefix of `t`.
  std::vector<std::string> topics_in(const topics& t) const;
};

/// Every role, in the order of known_roles() followed by optional_roles(): the one list of role
/// names, consumer groups, topics and start functions (node::start, pipeline_groups,
/// `eventide roles`). A node starts its roles in this order.
const std::vector<role_spec>& role_table();
/// The row of role `name`; throws std::out_of_range for an unknown name.
const role_spec& role_spec_of(const std::string& name);

/// The pipeline roles: what "all" (and so `eventide ask`) hosts.
const std::vector<std::string>& known_roles();
/// Roles a node hosts only when they are named, never as part of "all": "metrics" (the
/// metrics projection reads the whole log, which a question's pipeline need not pay for).
const std::vector<std::string>& optional_roles();
/// The worker roles, one per tool kind: "worker-math", "worker-weather", ...
const std::vector<std::string>& worker_roles();

/// Why the consumer group of `role` refuses a record that decoded, if it does (its bridge
/// dead-letters the record with this reason): an event on another topic than its type's
/// ("PlanGenerated belongs on 'conversation-events', not on 'user-commands'"), and, for the
/// orchestrator, a request for a tool no tool group of the role table serves ("no tool group
/// serves tool 'teleport' ..."), which every tool group passes over and would otherwise vanish.
std::optional<std::string> refusal(const role_spec& role, const std::string& topic_prefix,
                                   const storage::record& rec, const events::event& ev);

struct node_options {
  std::set<std::string> roles;     // of known_roles() and optional_roles()
  std::string node_id = "node-1";  // goes into every event's source
  std::string data_dir;            // node-local stores (worker ledgers)
  std::string topic_prefix;        // prepended to every topic name
  std::string resources;           // root holding products/, config/, prompts/
  core::orchestration_policy policy;
  size_t max_in_flight = 256;      // per consumer bridge
  size_t tool_concurrency = 2;     // detached tool runners per worker kind
  int64_t passivate_after_ms = 60000; // an idle running conversation leaves memory (0 = never)
  size_t memory_turns = 8; // answered turns the router remembers per conversation
  size_t memory_tokens = 800; // of those, what an LLM planner's prompt gets at most
  /// A record in flight at this many crashes of the node is dead-lettered ("crashed the node N
  /// times") instead of handled again (README "Crash-loop guard"). 0 turns the guard off.
  uint32_t crash_loop_limit = 3;
  providers::provider_config providers; // LLM chains, HTTP tools; all "offline" by default
  /// Where the shop tools reach the shop (DESIGN §15): "" = a shop in this process, its store in
  /// data_dir/shop (offline; `shop` holds its card limit and cities), else the URL of
  /// `eventide shop serve`.
  std::string shop_url;
  shop::shop_settings shop;
};

class node {
 public:
  node(caf::actor_system& sys, std::shared_ptr<storage::log> log, node_options opts);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Spawns every role's actors and bridges; fails with a clear reason (e.g. a store locked).
  outcome<void> start();
  /// Stops the bridges (they commit what they handled) and waits for them.
  void stop();

  /// Health as JSON: the log's last client error, the producer's and every consumer bridge's
  /// counters and last error, and with the metrics role its report ("metrics"). Written by
  /// `eventide node` to DATA_DIR/health.json.
  std::string health();

  /// Whether this node's orchestrator finished restoring and runs live.
  bool orchestrator_live() const;

  /// The orchestrator's state digest: "<conversationId> <fold digest>" per line, sorted.
  outcome<std::string> orchestrator_digest();

 private:
  std::unique_ptr<node_state> state_;
};

} // namespace eventide
