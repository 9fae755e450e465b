// The one interface every role uses for log I/O (DESIGN §7). Backends: embedded (RocksDB, one
// process, no broker) and kafka (librdkafka). Offsets follow Kafka's convention: a committed
// offset is the *next* offset to read, and the high watermark is the next offset to be written.
// Partitions and offsets are partition_id and log_offset (model/ids.hpp): made from a raw
// number only explicitly, read as one anywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "model/ids.hpp"

namespace eventide::storage {

struct topic_partition {
  std::string topic;
  partition_id partition{0};
  topic_partition() = default;
  topic_partition(std::string t, partition_id p) : topic(std::move(t)), partition(p) {}
  /// A literal partition number ({"t", 0} in a test, a loop index): explicit enough here.
  topic_partition(std::string t, int p) : topic(std::move(t)), partition(p) {}
  friend bool operator==(const topic_partition& a, const topic_partition& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
  friend bool operator<(const topic_partition& a, const topic_partition& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  }
};

/// "topic/partition", for logs and error texts.
inline std::string to_string(const topic_partition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

/// Kafka's topic name rule (1-249 of letters, digits, '.', '_', '-'; not "." or ".."), which
/// every backend enforces so a bad name fails at once with a clear reason.
outcome<void> check_topic_name(const std::string& topic);

/// Kafka record headers, in order (names may repeat).
using record_headers = std::vector<std::pair<std::string, std::string>>;

struct record {
  std::string topic;
  partition_id partition{0};
  log_offset offset{0};
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0; // append time (embedded) or broker/producer time (kafka), 0 if none
  record_headers headers;   // Kafka 0.11+ only; empty elsewhere
};

struct position {
  partition_id partition{0};
  log_offset offset{0};
};

struct watermarks {
  log_offset low{0};  // first offset still stored
  log_offset high{0}; // next offset to be written
};

enum class offset_reset { earliest, latest };

/// Called from inside poll() when the group's assignment changes; on `revoked` the consumer
/// should commit what it handled, on `assigned` it may seek.
using rebalance_listener = std::function<void(const std::vector<topic_partition>& revoked,
                                              const std::vector<topic_partition>& assigned)>;

class consumer {
 public:
  virtual ~consumer() = default;

  /// Returns up to `max_records` records in offset order per partition. Blocks up to `timeout`
  /// when nothing is available and returns as soon as a record arrives (or wakeup() is called).
  virtual outcome<std::vector<record>> poll(size_t max_records,
                                            std::chrono::milliseconds timeout) = 0;

  /// Commits `next_offset` (the next offset to read) for the group; committed() shows it when
  /// this returns. No-op without a group.
  virtual outcome<void> commit(const topic_partition& tp, log_offset next_offset) = 0;

  /// Like commit(), but may return before the broker confirmed it: a lost commit only means
  /// redelivery. Kafka sends one such commit at a time per consumer; offsets asked for
  /// meanwhile go with the next one (the latest per partition). Synchronous while the partition
  /// is being handed over, and close() confirms the latest commits. The default is commit().
  virtual outcome<void> commit_async(const topic_partition& tp, log_offset next_offset) {
    return commit(tp, next_offset);
  }

  /// The group's committed offset of `tp` (nullopt: none), asked through this consumer: on
  /// Kafka, log::committed() needs a client of its own per group (four more threads each).
  virtual outcome<std::optional<log_offset>> committed(const topic_partition& tp) = 0;

  /// Moves the read position of an assigned partition.
  virtual outcome<void> seek(const topic_partition& tp, log_offset offset) = 0;

  /// Current read position of an assigned partition (next offset poll() returns).
  virtual std::optional<log_offset> position_of(const topic_partition& tp) const = 0;

  virtual std::vector<topic_partition> assignment() const = 0;

  /// Stops/starts fetching from a partition (back-pressure) without losing the assignment.
  virtual void pause(const topic_partition& tp) = 0;
  virtual void resume(const topic_partition& tp) = 0;

  virtual void set_rebalance_listener(rebalance_listener listener) = 0;

  /// Makes a blocked poll() return early; safe from any thread.
  virtual void wakeup() = 0;

  /// Has `notify` called whenever poll() may return something new: a record appended to an
  /// owned partition, a rebalance to apply, a resumed partition, wakeup(). It runs on any
  /// thread, possibly under the log's lock, so it must only signal (send a message). Then the
  /// caller can poll without waiting and sleep until notified, instead of keeping a thread
  /// blocked in poll(). False when the backend cannot notify.
  virtual bool set_notify(std::function<void()> notify) {
    (void) notify;
    return false;
  }

  /// Leaves the group (partitions go to the other members). Also done by the destructor.
  virtual void close() = 0;
};

using delivery_callback = std::function<void(outcome<position>)>;

class log {
 public:
  virtual ~log() = default;

  /// Appends a record, partitioned by murmur2(key) like Java clients. `on_delivery` runs once
  /// the record is durable (inline for the embedded log; from serve() for kafka).
  virtual void produce(const std::string& topic, const std::string& key, std::string value,
                       delivery_callback on_delivery) = 0;

  /// produce() with record headers where the backend has them (Kafka 0.11+); the others
  /// (the embedded log, Kafka 0.9) write the record without them.
  virtual void produce_with_headers(const std::string& topic, const std::string& key,
                                    std::string value, const record_headers& headers,
                                    delivery_callback on_delivery) {
    (void) headers;
    produce(topic, key, std::move(value), std::move(on_delivery));
  }

  /// Runs pending delivery callbacks, waiting up to `timeout` for one.
  virtual void serve(std::chrono::milliseconds timeout) = 0;

  /// True when produce() runs its callback before returning without waiting on a device
  /// (no fsync) and serve() has nothing to do: then the producer bridge need not own a thread.
  virtual bool delivers_inline() const { return false; }

  /// True when its consumers implement set_notify().
  virtual bool notifies_consumers() const { return false; }

  /// Waits until every produced record is delivered (or `timeout`).
  virtual outcome<void> flush(std::chrono::milliseconds timeout) = 0;

  virtual outcome<int32_t> partition_count(const std::string& topic) = 0;

  virtual outcome<watermarks> query_watermarks(const topic_partition& tp) = 0;

  /// The group's committed offset for a partition, nullopt if it never committed.
  virtual outcome<std::optional<log_offset>> committed(const std::string& group,
                                                    const topic_partition& tp) = 0;

  /// Joins `group` and subscribes to `topics`. Partitions are spread over the group's live
  /// members; each starts at the committed offset, or per `reset` when there is none.
  virtual outcome<std::unique_ptr<consumer>> subscribe(const std::string& group,
                                                       const std::vector<std::string>& topics,
                                                       offset_reset reset) = 0;

  /// A consumer without a group reading exactly these partitions from these offsets.
  virtual outcome<std::unique_ptr<consumer>>
  assign(const std::vector<std::pair<topic_partition, log_offset>>& start) = 0;

  /// Human-readable backend name for logs: "embedded:/path" or "kafka:host:port".
  virtual std::string describe() const = 0;

  /// The last error the client library reported (e.g. brokers down), "" when none; for health.
  virtual std::string last_error() const { return {}; }

  // -- exactly-once on the log (Kafka transactions) ----------------------------------------

  /// A new handle on the same log whose records are written in transactions under
  /// `transactional_id` (stable across restarts, unique among live instances: a new handle with
  /// the id aborts what a dead one left open). Null when this log has none: the embedded log,
  /// Kafka before 0.11, or exactly-once turned off. Used by one consumer bridge and its role:
  /// it subscribes through the handle and commits through commit_transaction().
  virtual outcome<std::shared_ptr<log>> open_transactional(const std::string& transactional_id) {
    (void) transactional_id;
    return std::shared_ptr<log>{};
  }

  /// True for handles made by open_transactional().
  virtual bool transactional() const { return false; }

  /// Commits, in one transaction, every record produced through this handle since the last
  /// call and `offsets` (next offsets to read) for the group of the consumer subscribed
  /// through it, then opens the next transaction. produce() from other threads waits
  /// meanwhile. Retries what the broker asks to retry; fails when the transaction was aborted
  /// or the handle fenced by a newer one with the same id (then the caller's state is ahead of
  /// the log and must be rebuilt from it).
  virtual outcome<void> commit_transaction(
    const std::vector<std::pair<topic_partition, log_offset>>& offsets) {
    (void) offsets;
    return fail("this log has no transactions");
  }

  /// Aborts the open transaction: what was produced since the last commit is never read by
  /// anyone (a clean stop with records still in flight).
  virtual outcome<void> abort_transaction() { return fail("this log has no transactions"); }

  /// Records produced through this handle since the last commit_transaction().
  virtual uint64_t uncommitted() const { return 0; }

  /// True once a newer handle with the same transactional id took over: this one can write
  /// nothing more, and its owner must stop.
  virtual bool fenced() const { return false; }
};

/// Java-compatible murmur2 partitioner: toPositive(murmur2(key)) % partitions.
partition_id partition_for_key(const std::string& key, int32_t partitions);

/// Kafka's murmur2 hash (seed 0x9747b28c), as in org.apache.kafka.common.utils.Utils.
int32_t murmur2(const void* data, size_t len);

} // namespace eventide::storage
