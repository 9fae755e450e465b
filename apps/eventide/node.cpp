// node: runs roles until SIGTERM/SIGINT, writing health.json and serving Prometheus metrics.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>

#include "actors/logging.hpp"
#include "actors/node.hpp"
#include "commands.hpp"
#include "core/prometheus.hpp"
#include "log_io.hpp"
#include "roles.hpp"

namespace eventide::cli {

namespace {

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

} // namespace

int run_node(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (!cl.positionals.empty())
    throw usage_error{"node takes no positional arguments"};
  auto roles = parse_roles(cfg.roles);
  start_logging(cfg, "info");
  auto log = open_log(cfg);
  metrics_endpoint metrics;
  if (cfg.metrics_port > 0)
    if (auto r = metrics.listen(cfg.metrics_address, cfg.metrics_port); !r)
      throw usage_error{r.error()};
  caf::actor_system sys{system_config};
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

} // namespace eventide::cli
