// The roles a node hosts: `eventide roles`, --roles parsing, and a node's options.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "actors/node.hpp"
#include "options.hpp"

namespace eventide::cli {

/// "router,orchestrator", "all" or "workers" as role names; throws usage_error for an unknown
/// role or an empty list.
std::set<std::string> parse_roles(const std::string& list);

/// A node's options from the config, hosting `roles`.
node_options make_node_options(const options& cfg, std::set<std::string> roles);

/// The roles a command that asks (`ask`, `chat`) runs in its own process: on the embedded log
/// every role by default (a --roles subset simulates roles that are down), on Kafka none unless
/// --roles says so (the command is then only the ingress). Started; null when none. Dies
/// (exit_usage) when a role cannot start.
std::unique_ptr<node> start_ingress_roles(caf::actor_system& sys,
                                          std::shared_ptr<storage::log> log, const options& cfg);

} // namespace eventide::cli
