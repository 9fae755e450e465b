// node: runs roles until SIGTERM/SIGINT, writing health.json and serving Prometheus metrics.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <caf/actor_system.hpp>

#include "actors/logging.hpp"
#include "actors/node.hpp"
#include "commands.hpp"
#include "core/prometheus.hpp"
#include "log_io.hpp"
#include "net/http_server.hpp"
#include "roles.hpp"

namespace eventide::cli {

namespace {

// The node's HTTP endpoint (net/http_server, Boost.Beast underneath): GET /metrics is the
// health as Prometheus text, GET /health the health JSON. Loopback unless --metrics-address (a
// container sets 0.0.0.0 so that Prometheus can reach it); both are read-only.
std::unique_ptr<net::http_server> serve_metrics(const options& cfg, node& n) {
  in_addr probe{};
  if (::inet_pton(AF_INET, cfg.metrics_address.c_str(), &probe) != 1)
    throw usage_error{"eventide.metrics-address '" + cfg.metrics_address
                      + "' is not an IPv4 address"};
  net::http_server_settings settings;
  settings.host = cfg.metrics_address;
  settings.port = cfg.metrics_port;
  settings.threads = 1; // a scrape every few seconds; health asks every role, one at a time
  auto server = net::http_server::start(settings, [&n](const net::http_request& rq) {
    net::http_reply reply;
    reply.content_type = "text/plain";
    if (rq.method != "GET") {
      reply.status = 405;
      reply.headers.emplace_back("Allow", "GET");
      reply.body = "method not allowed\n";
    } else if (rq.path == "/metrics") {
      auto text = core::prometheus_text(n.health());
      reply.content_type = "text/plain; version=0.0.4";
      reply.body = text ? *text : "# " + text.error() + "\n";
    } else if (rq.path == "/health") {
      reply.content_type = "application/json";
      reply.body = n.health();
    } else {
      reply.status = 404;
      reply.body = "not found\n";
    }
    return reply;
  });
  if (!server)
    throw usage_error{"cannot serve metrics: " + server.error()};
  return std::move(*server);
}

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
  std::unique_ptr<net::http_server> metrics; // (declared after `n`: stopped before it)
  if (cfg.metrics_port > 0)
    metrics = serve_metrics(cfg, n);
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
  if (metrics)
    metrics->stop();
  n.stop();
  std::cout << "eventide node " << cfg.node_id << " stopped" << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
