// The roles a node hosts: `eventide roles`, --roles parsing, and a node's options.
#pragma once

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

} // namespace eventide::cli
