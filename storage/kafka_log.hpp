// The Kafka backend of the log interface (librdkafka). Same semantics as the embedded log:
// records are partitioned with the Java client's murmur2 partitioner, offsets are committed per
// group, and a consumer's position is the next offset poll() returns. Works with modern brokers
// and with Kafka 0.9 (set broker_version_fallback = "0.9.0.1").
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/log.hpp"

namespace eventide::storage {

struct kafka_options {
  std::string brokers; // bootstrap list, "host:port[,host:port...]"
  // "" = modern broker (API version negotiation, idempotent producer, CreateTopics).
  // "0.9.0.1" for Kafka 0.9: api.version.request=false, broker.version.fallback, no
  // idempotence, no admin API (topics must exist or be auto-created by the broker).
  std::string broker_version_fallback;
  int32_t partitions = 6;    // for topics this client creates (modern brokers only)
  // retention.ms of topics this client creates (modern brokers only). -1 keeps every record:
  // the log is the only truth and every role rebuilds its state from it.
  int64_t retention_ms = -1;
  bool create_topics = true; // create missing topics with the admin API (modern brokers only)
  int session_timeout_ms = 10000;
  // Exactly-once (brokers 0.11+): open_transactional() gives handles that write in
  // transactions. Off: open_transactional() gives null and roles fall back to deduplication.
  bool exactly_once = true;
  // Set by open_transactional(): this handle's producer is transactional under this id.
  std::string transactional_id;
  // transaction.timeout.ms: how long a transaction a dead node left open may block readers
  // (read_committed) before the broker aborts it, unless a restart with the same id aborts it
  // first. Our transactions last one poll batch, so this bounds broker outages: one longer
  // than this fences the producers (the node then stops, and its restart carries on).
  int transaction_timeout_ms = 60000;
  // Raw librdkafka properties applied last, so they override the defaults. A key prefixed
  // "producer." or "consumer." goes only to that kind of handle (e.g.
  // {"consumer.fetch.wait.max.ms", "1"}, {"producer.message.timeout.ms", "60000"}); a plain key
  // goes to every handle.
  std::vector<std::pair<std::string, std::string>> extra;
  std::string client_id = "eventide";
};

/// Creates the producer and checks the brokers answer a metadata request (10 s). Fails with a
/// reason naming the brokers and librdkafka's error when they do not, or when a property is
/// rejected. Notes on behaviour that differs from the embedded log:
///  - produce() runs on_delivery from serve()/flush() (inline only when it fails before the
///    record is queued, e.g. an invalid topic name); a successful delivery's offset is -1 in the
///    rare case the broker confirmed a retried batch as a duplicate without saying where;
///  - partition_count() creates a missing topic (modern broker + create_topics) with
///    `partitions` and `retention_ms`, and returns once every partition has a leader;
///  - query_watermarks() retries while a partition's leadership is still moving (a new topic,
///    a broker restart) for up to 10 s;
///  - destroying the log flushes for up to 10 s but no longer runs delivery callbacks; call
///    flush() first to see them;
///  - consumer::close() (and the destructor) leave the group without calling the rebalance
///    listener, like the embedded log: commit before closing.
outcome<std::unique_ptr<log>> open_kafka_log(const kafka_options& options);

} // namespace eventide::storage
