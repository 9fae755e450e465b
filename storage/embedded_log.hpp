// The embedded log: durable topics in one RocksDB directory with Kafka's semantics (partitions
// by key hash, offsets, consumer groups with committed offsets, seek, watermarks). For one
// process and no broker; it is the default when no brokers are configured.
#pragma once

#include <memory>
#include <string>

#include "storage/log.hpp"

namespace eventide::storage {

struct embedded_options {
  std::string dir;            // created if missing
  int32_t partitions = 3;     // for topics created on first use
  bool sync_writes = false;   // fsync each append (survives OS crash, not needed for kill -9)
};

/// Opens (or creates) the log. Fails with a clear reason when the directory is unusable or
/// locked by another process.
outcome<std::unique_ptr<log>> open_embedded_log(const embedded_options& options);

} // namespace eventide::storage
