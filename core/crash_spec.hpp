// The test-only fault hook's setting, EVENTIDE_CRASH_AT=<point>[:<n>]: which dangerous window to
// die in, and at which hit of it. Parsed here (pure); actors/crash_point.hpp acts on it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::core {

/// The windows a node can be made to die in. Each sits between two steps whose order the
/// exactly-once promise depends on (README "Crash points").
enum class crash_site {
  before_effect, // a worker received a request; the tool has not run
  after_effect,  // the tool ran (its effect happened); the ledger has no record of it
  after_produce, // a record is durable in the log; the role was not told, nothing acknowledged
  after_snapshot, // the orchestrator stored a conversation's snapshot; the record is not acked
  mid_restore,   // the orchestrator folded a record in restore mode; it is not live yet
  after_result,  // the orchestrator folded a tool result; the next request is not produced
  before_commit, // exactly-once: a group's outputs are delivered into its transaction, which is
                 // not committed (nor are the input offsets)
};

struct crash_spec {
  crash_site site;
  uint64_t nth = 1; // die at this hit of the site (1 = the first)
};

/// Every site's name, as written in EVENTIDE_CRASH_AT, in enum order.
const std::vector<std::string>& crash_site_names();

/// Parses "<point>[:<n>]" (n >= 1), e.g. "after-effect" or "mid-restore:5".
outcome<crash_spec> parse_crash_spec(std::string_view text);

/// EVENTIDE_CRASH_ON_RECORD=<group>:<substring>: the consumer group `group` (its full name,
/// topic prefix included) dies handing its role any record whose bytes contain `substring`,
/// at every start: a record that crashes the node each time it is read (the crash-loop guard's
/// test, README "Crash-loop guard").
struct record_crash_spec {
  std::string group;
  std::string substring;
};

/// Parses "<group>:<substring>" (both non-empty; the substring may contain ':').
outcome<record_crash_spec> parse_record_crash_spec(std::string_view text);

} // namespace eventide::core
