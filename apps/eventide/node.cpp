// node: runs roles until SIGTERM/SIGINT, writing health.json and serving Prometheus metrics.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>

#include "actors/logging.hpp"
#include "actors/node.hpp"
#include "commands.hpp"
#include "log_io.hpp"
#include "http_endpoint.hpp"
#include "roles.hpp"

namespace eventide::cli {

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> digest_requested{false};

} // namespace

int run_node(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (!cl.positionals.empty())
    throw usage_error{"node takes no positional arguments"};
  auto roles = parse_roles(cfg.roles);
  start_logging(cfg, "info");
  auto log = open_log(cfg);
  caf::actor_system sys{system_config};
  node n{sys, log, make_node_options(cfg, roles)};
  // GET /metrics (Prometheus text), /health (JSON), and the console (docs/http-api.md);
  // loopback unless --metrics-address (a container sets 0.0.0.0 for Prometheus).
  http_endpoint endpoint; // (declared after `n`: stopped before it)
  if (cfg.metrics_port > 0)
    endpoint = serve_http(cfg, "metrics-address", cfg.metrics_address, cfg.metrics_port, log,
                          [&n] { return n.health(); });
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
  endpoint.stop();
  n.stop();
  std::cout << "eventide node " << cfg.node_id << " stopped" << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
