// The HTTP endpoint of `node` (--metrics-port) and `console` (--port): the console's API and
// page (console/api.hpp), /metrics and /health when the process runs roles, on Boost.Beast.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "console/api.hpp"
#include "net/http_server.hpp"
#include "options.hpp"
#include "storage/log.hpp"

namespace eventide::cli {

struct http_endpoint {
  std::unique_ptr<console::api> api;
  std::unique_ptr<net::http_server> server;
  /// Stops the server (answers in flight finish), then the console's feed.
  void stop();
};

/// Serves on HOST:PORT (`host_option` names the option in errors) (an IPv4 address; loopback unless asked otherwise: then writes need the
/// bearer token of EVENTIDE_HTTP_TOKEN). Throws usage_error with one clear line when it cannot.
http_endpoint serve_http(const options& cfg, const std::string& host_option,
                         const std::string& host, int port,
                         std::shared_ptr<storage::log> log, std::function<std::string()> health);

} // namespace eventide::cli
