// A small, general HTTP/1.1 server (Boost.Beast underneath, kept out of this header): one
// handler function gets every request and returns the reply. Loopback by default, bounded
// requests, keep-alive, a read timeout per connection and a graceful stop(). The shop service
// runs on it; any other endpoint (e.g. /metrics) can too.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
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

class event_stream;

struct http_reply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<http_field> headers; // extra ones; Content-Length and Connection are set for you
  std::string body;
  /// Set by a handler that answers with server-sent events: then `body` is ignored and the
  /// connection stays open for the stream (no keep-alive after it).
  std::shared_ptr<event_stream> stream;
};

using http_handler = std::function<http_reply(const http_request&)>;

/// A server-sent-events stream (text/event-stream): a handler returns it in http_reply::stream;
/// the server writes the head, then everything pushed (as one chunk per wake-up), until the
/// client goes away, close() is called or the server stops. Thread-safe; pushes never block. A
/// client that falls behind by more than `max_queued_bytes` is disconnected (EventSource
/// reconnects by itself).
class event_stream {
 public:
  explicit event_stream(std::size_t max_queued_bytes = 4 << 20) : max_queued_(max_queued_bytes) {}
  /// Queues one event ("event: NAME" and one "data:" line; `data` must hold no newline).
  /// False when the stream is closed (the client is gone): drop it.
  bool push(std::string_view event, std::string_view data);
  /// Queues events already framed by frame() (many subscribers share one framing).
  bool push_frames(std::string_view frames);
  /// "event: NAME\ndata: DATA\n\n" appended to `out`.
  static void frame(std::string& out, std::string_view event, std::string_view data);
  /// Queues a comment line (a keep-alive that also finds dead clients).
  bool push_comment(std::string_view text);
  /// Ends the stream; the connection closes once what is queued is written.
  void close();
  bool closed() const;

  // -- for the server --------------------------------------------------------------------
  /// Takes what is queued ("" when nothing); `finished` is set when closed and drained.
  std::string take(bool& finished);
  /// Called (once per wake-up, from any thread) when something is queued or it closed.
  void on_ready(std::function<void()> f);

 private:
  bool queue(std::string_view frames);

  mutable std::mutex mu_;
  std::string pending_;
  std::size_t max_queued_; // bytes
  bool closed_ = false;
  bool signalled_ = false; // ready_ was called and take() has not run since
  std::function<void()> ready_;
};

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
