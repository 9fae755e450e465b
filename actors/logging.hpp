// Logging through Boost.Log (Debian's CAF logs nothing). Lines carry context as key=value pairs:
// EV_LOG(warning) << "dead-lettered record conversationId=" << id << " offset=" << off;
#pragma once

#include <string>

#include <boost/log/trivial.hpp>

#define EV_LOG(severity) BOOST_LOG_TRIVIAL(severity)

namespace eventide {

/// Sends log lines to stderr (and `file` when non-empty) at `level` and above: trace, debug,
/// info, warning, error, fatal. Returns false for an unknown level.
bool init_logging(const std::string& level, const std::string& file = "");

} // namespace eventide
