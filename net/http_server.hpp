// A small, general HTTP/1.1 server (Boost.Beast underneath, kept out of this header): one
// handler function gets every request and returns the reply. Loopback by default, bounded
// requests, keep-alive, a read timeout per connection and a graceful stop(). The shop service
// runs on it; any other endpoint (e.g. /metrics) can too.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::net {

using http_field = std::pair<std::string, std::string>;

struct http_request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // "/orders/o-1?x=1"
  std::string path;    // target without the query
  std::string query;   // after '?', "" when none
  std::vector<http_field> headers;
  std::string body;

  /// The first header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  /// Whether a header named `name` was sent at all (its value may be empty).
  bool has_header(std::string_view name) const;
};

struct http_reply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<http_field> headers; // extra ones; Content-Length and Connection are set for you
  std::string body;
};

using http_handler = std::function<http_reply(const http_request&)>;

struct http_server_settings {
  std::string host = "127.0.0.1"; // loopback unless asked otherwise
  int port = 0;                    // 0 = an ephemeral port; port() tells which
  std::size_t body_limit = 64 * 1024;   // larger bodies get 413
  std::size_t header_limit = 16 * 1024; // larger request heads get 431
  std::chrono::milliseconds read_timeout{30000}; // idle or slow connections are closed after
  int threads = 4;                 // handlers run on this many threads at most
  std::size_t max_connections = 256; // more are closed at once
};

class http_server {
 public:
  /// Binds, listens and starts serving; fails with a clear reason (bad host, port in use).
  static outcome<std::unique_ptr<http_server>> start(http_server_settings settings,
                                                     http_handler handler);
  ~http_server(); // stop()
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The bound port (the ephemeral one when settings.port was 0).
  int port() const;
  /// "http://HOST:PORT"
  std::string url() const;

  /// Stops accepting, lets requests being handled finish and answer (with Connection: close),
  /// closes idle connections and waits for every thread. Idempotent; not from a handler.
  void stop();

 private:
  struct impl;
  explicit http_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// "Not Found" for 404, "" for a code without a standard reason.
std::string_view status_reason(int status);

} // namespace eventide::net
