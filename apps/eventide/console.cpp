// console: the web console (docs/http-api.md) over HTTP until SIGTERM/SIGINT. On the embedded
// log it also runs every role (like `chat`), so questions asked on the page are answered; on
// Kafka it runs none unless --roles says so (the nodes answer).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "commands.hpp"
#include "console/api.hpp"
#include "http_endpoint.hpp"
#include "log_io.hpp"
#include "roles.hpp"

namespace eventide::cli {

namespace {

std::atomic<bool> console_stop{false};

} // namespace

int run_console(const options& cfg, const command_line& cl,
                caf::actor_system_config& system_config) {
  if (!cl.positionals.empty())
    throw usage_error{"usage: eventide console [--port P] [--host ADDRESS] [--data-dir D]"};
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  caf::actor_system sys{system_config};
  auto n = start_ingress_roles(sys, log, cfg);
  std::function<std::string()> health;
  if (n)
    health = [&n] { return n->health(); };
  auto endpoint = serve_http(cfg, "host", cfg.host, cfg.port, log, health);
  if (auto f = endpoint.api->live(); !f) // the console reads the log from the start, now
    die(exit_failed, "cannot read the log: " + f.error());
  std::signal(SIGINT, [](int) { console_stop = true; });
  std::signal(SIGTERM, [](int) { console_stop = true; });
  std::cout << "console: " << endpoint.server->url() << "/\nlog: " << log->describe() << std::endl;
  while (!console_stop)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  endpoint.stop();
  if (n)
    n->stop();
  return exit_ok;
}

} // namespace eventide::cli
