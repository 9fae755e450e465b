// The HTTP endpoint of node and console (http_endpoint.hpp).
#include "http_endpoint.hpp"

#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace eventide::cli {

void http_endpoint::stop() {
  if (server)
    server->stop();
  api.reset();
}

http_endpoint serve_http(const options& cfg, const std::string& host_option,
                         const std::string& host, int port,
                         std::shared_ptr<storage::log> log, std::function<std::string()> health) {
  in_addr probe{};
  if (::inet_pton(AF_INET, host.c_str(), &probe) != 1)
    throw usage_error{"eventide." + host_option + " '" + host + "' is not an IPv4 address"};
  console::api_settings s;
  s.topic_prefix = cfg.topic_prefix;
  s.node_id = cfg.node_id;
  s.default_user = cfg.user;
  // 127.0.0.0/8 is loopback; anything else exposes the port, and then writes need the token.
  s.loopback = (ntohl(probe.s_addr) >> 24) == 127;
  if (const char* t = std::getenv("EVENTIDE_HTTP_TOKEN"))
    s.token = t;
  s.health = std::move(health);
  http_endpoint e;
  e.api = std::make_unique<console::api>(std::move(log), std::move(s));
  net::http_server_settings settings;
  settings.host = host;
  settings.port = port;
  settings.threads = 2; // streams are asynchronous; handlers are short reads of the feed
  auto* api = e.api.get();
  auto server = net::http_server::start(settings, [api](const net::http_request& rq) {
    return api->handle(rq);
  });
  if (!server)
    throw usage_error{"cannot serve HTTP: " + server.error()};
  e.server = std::move(*server);
  return e;
}

} // namespace eventide::cli
