// An in-process HTTP/1.1 server on 127.0.0.1 (ephemeral port) for provider tests: scripted
// responses per path (status, headers, body, delay) or a handler function, and a record of
// every request so tests can assert exact request bodies. One connection per request
// ("Connection: close"); each connection is served on its own thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace eventide::testing {

struct recorded_request {
  std::string method;
  std::string target; // "/v1/forecast?latitude=52.52&..."
  std::string path;   // target without the query
  std::string query;  // after '?', "" when none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header named `name` (case-insensitive); "" when absent.
  std::string header(const std::string& name) const;
};

struct scripted_response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int delay_ms = 0; // wait before answering (cut short when the server stops)
};

class http_test_server {
 public:
  using handler = std::function<scripted_response(const recorded_request&)>;

  /// Binds and starts serving at once.
  http_test_server();
  ~http_test_server();
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:<port>"
  std::string url() const;

  /// Responses for `path`, used in order; after they run out, the default (or handler).
  void enqueue(const std::string& path, scripted_response response);
  void set_default(const std::string& path, scripted_response response);
  void set_handler(const std::string& path, handler h);

  /// Every request received so far (in arrival order), or those for one path.
  std::vector<recorded_request> requests() const;
  std::vector<recorded_request> requests(const std::string& path) const;
  std::size_t request_count(const std::string& path) const { return requests(path).size(); }

  /// Stops accepting and waits for connection threads; idempotent.
  void stop();

 private:
  void accept_loop();
  void serve(int fd);
  scripted_response respond_to(const recorded_request& request);

  int listen_fd_ = -1;
  int port_ = 0;
  bool stopping_ = false;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::map<std::string, std::deque<scripted_response>> queued_;
  std::map<std::string, scripted_response> defaults_;
  std::map<std::string, handler> handlers_;
  std::vector<recorded_request> requests_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

} // namespace eventide::testing
