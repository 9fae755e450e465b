// Test-only fault injection: with EVENTIDE_CRASH_AT=<point>[:<n>] set, the process dies with
// _exit(crash_exit_code) at the n-th time it passes <point> (core/crash_spec.hpp lists them).
// Unset, a crash point costs one load of a static and a compare. Tests use it to kill a node in
// the exact window that a crash must survive (tests/kafka/crash_points.sh).
#pragma once

#include <string>

#include "core/crash_spec.hpp"
#include "core/outcome.hpp"

namespace eventide {

/// The exit status of a node that died at a crash point.
inline constexpr int crash_exit_code = 86;

/// Checks EVENTIDE_CRASH_AT and EVENTIDE_CRASH_ON_RECORD; a bad value is a config error for
/// the caller to report.
outcome<void> check_crash_setting();

/// Dies here if EVENTIDE_CRASH_AT names this site and this is its n-th hit; `context` (e.g. an
/// invocation id) goes into the line printed on stderr before dying.
void crash_point(core::crash_site site, const char* context = "");

/// Dies here if EVENTIDE_CRASH_ON_RECORD=<group>:<substring> names `group` and `value` contains
/// the substring: a record that kills the node whenever it is handed to the role, at every
/// start. Called by the consumer bridge just before it hands a record to its role; the
/// record's place goes into the line printed on stderr. Unset, it costs a load and a compare.
void crash_on_record(const std::string& group, const std::string& value, const std::string& topic,
                     int32_t partition, int64_t offset);

} // namespace eventide
