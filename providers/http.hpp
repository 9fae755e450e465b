// One blocking HTTP exchange over libcurl. Callers (tool workers, the planner pool) run it off
// the CAF scheduler. Retries, deadlines and circuit breaking live in resilience.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::providers {

using http_header = std::pair<std::string, std::string>;

struct http_request {
  std::string method = "POST";
  std::string url;
  std::vector<http_header> headers;
  std::string body;
  long connect_timeout_ms = 2000;
  long timeout_ms = 30000; // whole exchange, connect included
};

struct http_response {
  long status = 0;
  std::vector<http_header> headers; // of the final response, names as the server sent them
  std::string body;

  /// The first header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
};

/// Sends the request and returns whatever status the server answered (4xx/5xx included).
/// Transport failures are a failure whose reason starts with what happened and names the URL:
///   "connect failed: http://127.0.0.1:9/api/chat: Couldn't connect to server"
///   "timed out after 100 ms: http://127.0.0.1:9/api/chat"
///   "HTTP request failed: <url>: <curl's reason>"
outcome<http_response> http_call(const http_request& request);

/// True when a failure reason from http_call is a timeout (the request may have been handled).
bool is_timeout_failure(std::string_view reason);

/// "api.open-meteo.com" for "https://api.open-meteo.com:443/v1/forecast?x=1"; "" if none.
std::string url_host(std::string_view url);

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay as they are).
std::string url_encode(std::string_view text);

/// Milliseconds of a monotonic clock, for the durations calls report.
inline int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

/// A base URL without the slashes it ends with, so that paths can be appended ("…/v1" + "/x").
inline std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

} // namespace eventide::providers
