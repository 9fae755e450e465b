// A conversation's timeline as `eventide trace` prints it (also `chat`'s /trace).
#pragma once

#include <string>

#include "storage/log.hpp"
#include "options.hpp"

namespace eventide::cli {

/// Prints the conversation's events, offsets and causes, then per turn its question, plan DAG,
/// step latencies and critical path (with --json the raw events). Dies when it has no events.
int print_trace(storage::log& log, const options& cfg, const std::string& conversation);

} // namespace eventide::cli
