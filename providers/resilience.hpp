// Retries, deadlines and a circuit breaker per provider around http_call, shared by every LLM
// client and HTTP tool of a process. Thread-safe: workers call it concurrently; no lock is held
// while a request is in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/backoff.hpp"
#include "core/outcome.hpp"
#include "providers/http.hpp"
#include "providers/limits.hpp"

namespace eventide::providers {

struct retry_policy {
  int max_attempts = 3;            // requests per call, first one included
  core::backoff_policy backoff;    // full-jitter exponential delay between attempts
  int64_t max_retry_after_ms = 30000; // a server's Retry-After is honoured up to this cap
};

struct breaker_policy {
  int failure_threshold = 5; // consecutive failed attempts that open the circuit
  int64_t open_ms = 30000;   // how long it stays open before one half-open trial
};

/// What happened to calls under one key (provider/model), for `eventide stats` and logs.
struct endpoint_stats {
  int64_t calls = 0;          // call() invocations
  int64_t requests = 0;       // HTTP requests actually sent
  int64_t retries = 0;        // requests after the first of a call
  int64_t failures = 0;       // calls that ended in a failure
  int64_t short_circuits = 0; // calls refused because the circuit was open
  std::string breaker = "closed";
};

/// Injectable time: now in ms (any epoch, but deadlines use the same one) and a sleep.
struct clock_hooks {
  std::function<int64_t()> now_ms;        // default: wall clock, ms since the Unix epoch
  std::function<void(int64_t)> sleep_ms;  // default: std::this_thread::sleep_for
};

using http_transport = std::function<outcome<http_response>(const http_request&)>;

class resilient_http {
 public:
  /// `observer` receives one line per notable event (retry, breaker transition, give-up);
  /// route it to Boost.Log. `transport` defaults to http_call.
  explicit resilient_http(retry_policy retry = {}, breaker_policy breaker = {},
                          std::function<void(const std::string&)> observer = {},
                          clock_hooks clock = {}, http_transport transport = {});

  /// Sends `request`, retrying transport errors, timeouts, 5xx and 429 with backoff (at least
  /// the Retry-After the server asked for, capped). Other statuses return at once: 2xx/3xx as
  /// the response, any other 4xx as a failure "HTTP 404 from <url>: <body start>".
  /// `deadline_ms` (on clock().now_ms, 0 = none) bounds the whole call: a request's timeout is
  /// cut to the time left and no retry starts that could not finish before it.
  /// `key` names the circuit (e.g. "ollama/llama3.1:8b"); while it is open the call fails fast
  /// with "circuit open for <key>" without sending anything.
  outcome<http_response> call(const std::string& key, http_request request, int64_t deadline_ms = 0);

  /// Calls then wait for their provider's limits (the key's part before '/': "ollama").
  void set_limits(std::shared_ptr<provider_limits> limits) { limits_ = std::move(limits); }

  endpoint_stats stats(const std::string& key) const;
  std::map<std::string, endpoint_stats> all_stats() const;

  int64_t now_ms() const { return clock_.now_ms(); }
  const retry_policy& retry() const { return retry_; }

 private:
  struct endpoint {
    core::circuit_breaker breaker;
    endpoint_stats stats;
  };

  endpoint& endpoint_for(const std::string& key); // requires mu_
  void note(const std::string& line) const;
  // Runs `report` on the key's breaker under the lock and logs a state change.
  void report(const std::string& key, bool success);

  retry_policy retry_;
  breaker_policy breaker_policy_;
  std::function<void(const std::string&)> observer_;
  clock_hooks clock_;
  http_transport transport_;
  mutable std::mutex mu_;
  std::map<std::string, endpoint> endpoints_;
  uint64_t call_counter_ = 0; // varies the jitter seed between calls
  std::shared_ptr<provider_limits> limits_;
};

/// The start of an HTTP body for error messages: one line, at most 200 characters.
std::string body_start(std::string_view body);

} // namespace eventide::providers
