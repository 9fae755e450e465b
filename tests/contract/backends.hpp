// Backends the log contract suite runs against: the embedded log (temp dir), librdkafka's
// in-process mock cluster, and a real broker when KAFKA_BOOTSTRAP is set.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/kafka_log.hpp"
#include "storage/log.hpp"

struct rd_kafka_mock_cluster_s;

namespace contract {

enum class backend_kind { embedded, mock, kafka };

const char* backend_name(backend_kind kind);

class log_fixture {
 public:
  virtual ~log_fixture() = default;

  eventide::storage::log& log() { return *log_; }

  /// A topic no other test uses, created with the backend's default partition count (embedded
  /// and mock: 4; a real broker: whatever it gives). Tests read partition_count() and hold
  /// for any count >= 1.
  virtual std::string make_topic(const std::string& base) = 0;

  /// How long a group rebalance may take here (the mock waits for session timeouts).
  virtual std::chrono::milliseconds rebalance_wait() const { return std::chrono::seconds(30); }

  /// The consumer-group session timeout of this backend's members (0: no sessions, as on the
  /// embedded log, where membership needs no heartbeats).
  virtual std::chrono::milliseconds session_timeout() const { return std::chrono::seconds(6); }

  /// Whether a member can commit while its group rebalances (from its revocation listener).
  /// Real brokers accept that; librdkafka's mock answers REBALANCE_IN_PROGRESS.
  virtual bool commits_during_rebalance() const { return true; }

  /// The mock cluster for fault injection; nullptr on other backends.
  virtual rd_kafka_mock_cluster_s* mock_cluster() { return nullptr; }

 protected:
  std::unique_ptr<eventide::storage::log> log_;
};

/// Opens a fresh fixture. A real broker without KAFKA_BOOTSTRAP ends the process with exit code
/// 77, which ctest reports as skipped (Catch FAILs instead when EVENTIDE_REQUIRE_KAFKA=1).
std::unique_ptr<log_fixture> open_fixture(backend_kind kind);

/// The real broker's connection options: KAFKA_BOOTSTRAP, and KAFKA_VERSION_FALLBACK (unset or
/// empty: a modern broker; "0.9.0.1" for the 0.9 floor). Without KAFKA_BOOTSTRAP it ends the
/// process as skipped, like open_fixture(kafka).
eventide::storage::kafka_options broker_options();

/// Whether the real broker is a modern one (API versions, admin API, idempotent producer).
bool broker_is_modern();

/// Ends the process as skipped (exit code 77, see open_fixture) with a reason.
[[noreturn]] void skip(const std::string& reason);

/// A random suffix for unique topic and group names, so reruns on a real broker don't collide.
std::string unique_suffix();

using key_value = std::pair<std::string, std::string>;

/// Produces every record and waits (up to `timeout`) for all acknowledgements, each exactly
/// once; returns them in produce order.
std::vector<eventide::storage::position> produce_all(eventide::storage::log& l,
                                                   const std::string& topic,
                                  const std::vector<key_value>& records,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

} // namespace contract
