// roles: lists the roles a node can host; also --roles parsing and a node's options.
#include "roles.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.hpp"
#include "core/text.hpp"
#include "shop_settings.hpp"

namespace eventide::cli {

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

namespace {

// A non-negative USD amount from its option text; a usage_error names the option otherwise.
double usd_amount(const std::string& option, const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= 0) || !std::isfinite(v))
    throw usage_error{"eventide." + option + " must be a number of USD >= 0, not '" + text + "'"};
  return v;
}

// "gpt-4o-mini=0.0006, llama3.1:8b=0" -> by model.
std::map<std::string, double> llm_prices(const std::string& list) {
  std::map<std::string, double> prices;
  for (const auto& item : core::split_list(list)) {
    auto eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error{"eventide.llm-prices: '" + item + "' is not MODEL=USD_PER_1K_TOKENS"};
    prices[core::trim(item.substr(0, eq))] = usd_amount("llm-prices", core::trim(item.substr(eq + 1)));
  }
  return prices;
}

} // namespace

node_options make_node_options(const options& cfg, std::set<std::string> roles) {
  node_options o;
  o.roles = std::move(roles);
  o.node_id = cfg.node_id;
  o.data_dir = cfg.data_dir;
  o.topic_prefix = cfg.topic_prefix;
  o.resources = cfg.resources;
  o.policy.max_attempts = cfg.max_attempts;
  o.policy.step_timeout_ms = cfg.step_timeout_ms;
  o.policy.turn_timeout_ms = cfg.turn_timeout_ms;
  o.policy.max_plan_revisions = cfg.max_plan_revisions;
  o.policy.approval_threshold_usd = cfg.approval_threshold;
  o.policy.approval_timeout_ms = cfg.approval_timeout_ms;
  o.policy.max_tool_invocations = cfg.max_turn_invocations;
  o.policy.max_llm_tokens = cfg.max_turn_tokens;
  o.policy.max_wall_ms = cfg.max_turn_ms;
  o.policy.max_cost_usd = usd_amount("max-turn-cost-usd", cfg.max_turn_cost_usd);
  o.policy.usd_per_1k_tokens = llm_prices(cfg.llm_prices);
  o.policy.approvers = core::split_list(cfg.approvers);
  o.policy.retry_backoff.base_ms = cfg.retry_base_ms;
  o.policy.retry_backoff.max_ms = cfg.retry_max_ms;
  o.tool_concurrency = static_cast<size_t>(cfg.tool_concurrency);
  o.passivate_after_ms = cfg.passivate_after_ms;
  o.memory_turns = static_cast<size_t>(cfg.memory_turns);
  o.memory_tokens = static_cast<size_t>(cfg.memory_tokens);
  o.crash_loop_limit = static_cast<uint32_t>(cfg.crash_loop_limit);
  o.providers = cfg.providers;
  o.shop_url = cfg.shop_url;
  o.shop = shop_settings_of(cfg);
  return o;
}

int run_roles() {
  for (auto& r : known_roles())
    std::cout << r << "\n";
  for (auto& r : optional_roles())
    std::cout << r << "\n";
  return exit_ok;
}

std::unique_ptr<node> start_ingress_roles(caf::actor_system& sys,
                                          std::shared_ptr<storage::log> log, const options& cfg) {
  auto roles = cfg.roles.empty() && cfg.brokers.empty() ? std::string("all") : cfg.roles;
  if (roles.empty())
    return nullptr;
  auto n = std::make_unique<node>(sys, std::move(log), make_node_options(cfg, parse_roles(roles)));
  if (auto r = n->start(); !r)
    die(exit_usage, r.error());
  return n;
}

} // namespace eventide::cli
