// The log as the commands use it: open it, read topics to their end, produce one record.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/log.hpp"
#include "storage/log_io.hpp"
#include "options.hpp"

namespace eventide {

/// Wall clock in ms since the epoch (defined with the bridges, actors/bridges.hpp; declared
/// here so that a command needs no CAF actor header for it).
int64_t now_ms();

} // namespace eventide

namespace eventide::cli {

/// The Kafka log with --brokers, else the embedded log in DATA_DIR/log; dies (exit_usage) when
/// it cannot be opened.
std::shared_ptr<storage::log> open_log(const options& cfg);

/// Reads `topics` (all partitions, or only the one holding `key` when given) from their first
/// stored offset up to the high watermark of now, calling f for each record. Dies
/// (exit_failed) when a topic or partition cannot be read.
void read_to_end(storage::log& log, const std::vector<std::string>& topic_names,
                 const std::function<void(const storage::record&)>& f,
                 const std::string& key = "");

/// storage::produce_one: one record written and waited for.
using storage::produce_one;

} // namespace eventide::cli
