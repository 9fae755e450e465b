// Prometheus text exposition (format 0.0.4) of a node's health document (node::health()).
#pragma once

#include <string>
#include <string_view>

#include "core/outcome.hpp"

namespace eventide::core {

/// Gauges and counters for the log client, the producer, every consumer bridge and every
/// provider endpoint (calls, retries, failures, breaker state). Fails on malformed JSON.
outcome<std::string> prometheus_text(std::string_view health_json);

} // namespace eventide::core
