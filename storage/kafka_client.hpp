// Internal to storage/: what the Kafka log (kafka_log.cpp, kafka_transactions.cpp) and its
// consumer (kafka_consumer.cpp) share: timeouts, broker features by version, diagnostics, the
// context of librdkafka's callbacks, handle configuration and creation, partition lists and
// watermark queries. Defined in kafka_client.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "storage/kafka_log.hpp"

namespace eventide::storage {

using steady = std::chrono::steady_clock;

constexpr int metadata_timeout_ms = 5000;  // one metadata / watermark / offset request
constexpr int topic_wait_ms = 15000;       // until a created topic's partitions all have leaders
constexpr int leader_wait_ms = 10000;      // watermarks: while a partition's leadership moves
constexpr int legacy_autocreate_ms = 5000; // until a 0.9 broker's auto-created topic shows up
constexpr int queue_full_retries = 100;    // x 10 ms polling before produce gives up
constexpr int shutdown_flush_ms = 10000;

// Broker features by version: API version requests came with 0.10, CreateTopics with 0.10.1,
// the idempotent producer and transactions with 0.11. An empty fallback means "modern, ask
// the broker".
struct broker_features {
  bool api_version_request = true;
  bool admin_api = true;
  bool idempotence = true;
  bool transactions = true;
  bool headers = true;
};

broker_features features_for(const std::string& fallback);

// The latest warning/error librdkafka reported, added to failures that would otherwise only say
// "timed out".
class diagnostics {
 public:
  void note(std::string text) {
    std::lock_guard<std::mutex> lk(mu_);
    last_ = std::move(text);
  }
  std::string suffix() const {
    std::lock_guard<std::mutex> lk(mu_);
    return last_.empty() ? std::string() : " (last client error: " + last_ + ")";
  }
  std::string last() const {
    std::lock_guard<std::mutex> lk(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::string last_;
};

class kafka_log;
class kafka_consumer;

// The consumer subscribed through a transactional handle: its group metadata (group, member,
// generation) goes with every transaction's offsets, so that a member the group has moved on
// from cannot commit. Null once the consumer is closed.
struct group_link {
  std::mutex mu;
  rd_kafka_t* rk = nullptr;
};

// The opaque of every handle: lets the C callbacks find their C++ owner.
struct client_context {
  std::shared_ptr<diagnostics> diag;
  kafka_log* log = nullptr;           // set on the producer handle
  kafka_consumer* consumer = nullptr; // set on subscribe() handles
};

// Owns an rd_kafka_conf_t until rd_kafka_new() takes it.
struct conf_holder {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ~conf_holder() {
    if (conf)
      rd_kafka_conf_destroy(conf);
  }
  outcome<void> set(const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      return fail("kafka: property " + key + "=" + value + " rejected: " + err);
    return {};
  }
};

enum class handle_role { producer, consumer };

outcome<void> configure(conf_holder& c, const kafka_options& o, handle_role role,
                        const std::vector<std::pair<std::string, std::string>>& role_props,
                        client_context* ctx);

outcome<rd_kafka_t*> new_handle(conf_holder& c, handle_role role);

struct partition_list {
  rd_kafka_topic_partition_list_t* list;
  explicit partition_list(int size = 1) : list(rd_kafka_topic_partition_list_new(size)) {}
  ~partition_list() { rd_kafka_topic_partition_list_destroy(list); }
  partition_list(const partition_list&) = delete;
  partition_list& operator=(const partition_list&) = delete;
  rd_kafka_topic_partition_t* add(const topic_partition& tp, int64_t offset) {
    auto* p = rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
    p->offset = offset;
    return p;
  }
};

outcome<watermarks> fetch_watermarks(rd_kafka_t* rk, const topic_partition& tp,
                                     const diagnostics& diag);

/// The committed offset of `tp` for the group of handle `rk` (named `group` in errors);
/// nullopt when the group never committed it.
outcome<std::optional<log_offset>> fetch_committed(rd_kafka_t* rk, const std::string& group,
                                                   const topic_partition& tp,
                                                   const diagnostics& diag);

} // namespace eventide::storage
