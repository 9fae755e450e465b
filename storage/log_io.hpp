// Two things every reader and writer outside a role does with a log: read topics up to where
// they end now, and write one record and wait for it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "storage/log.hpp"

namespace eventide::storage {

/// Reads `topics` (all partitions, or only the one holding `key` when given: then only records
/// with that key) from their first stored offset up to the high watermark of now, calling f for
/// each record. Fails when a topic or partition cannot be read -- never reads less silently.
outcome<void> read_topics_to_end(log& l, const std::vector<std::string>& topics,
                          const std::function<void(const record&)>& f,
                          const std::string& key = "");

/// Produces one record (with `headers` where the log has them) and waits (up to 10 s) for its
/// delivery: where it was written, or why not.
outcome<position> produce_one(log& l, const std::string& topic, const std::string& key,
                              const std::string& value, const record_headers& headers = {});

} // namespace eventide::storage
