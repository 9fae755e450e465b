// Prometheus text exposition (format 0.0.4) of a node's health document (node::health()).
#pragma once

#include <string>
#include <string_view>

#include "core/outcome.hpp"

namespace eventide::core {

/// Gauges and counters for the log client, the producer, every consumer bridge and every
/// provider endpoint (calls, retries, failures, breaker state), plus, when the node hosts the
/// metrics role (a "metrics" member), the projection of the whole log: conversations, latency
/// summaries, events, rates, consumer lag, dead letters (docs/metrics.md). Fails on malformed
/// JSON; members of the wrong type are skipped or read as 0.
outcome<std::string> prometheus_text(std::string_view health_json);

} // namespace eventide::core
