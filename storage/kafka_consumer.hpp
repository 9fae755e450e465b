// Internal to storage/: the Kafka log's consumer, one librdkafka consumer handle each; the
// log's subscribe() and assign() create it. Defined in kafka_consumer.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "storage/kafka_client.hpp"

namespace eventide::storage {

class kafka_consumer final : public consumer {
 public:
  kafka_consumer(std::shared_ptr<diagnostics> diag, std::string group, bool commits,
                 offset_reset reset);
  ~kafka_consumer() override;

  client_context* context() { return &context_; }

  void link(std::shared_ptr<group_link> l);
  void attach(rd_kafka_t* rk);
  outcome<void> start_assigned(const std::vector<std::pair<topic_partition, log_offset>>& start);
  outcome<void> start_subscription(const std::vector<std::string>& topics);

  outcome<std::vector<record>> poll(size_t max_records,
                                    std::chrono::milliseconds timeout) override;
  outcome<void> commit(const topic_partition& tp, log_offset next_offset) override;
  outcome<void> commit_async(const topic_partition& tp, log_offset next_offset) override;
  outcome<void> commit_impl(const topic_partition& tp, int64_t next_offset, bool may_defer);
  outcome<void> send_pending_commits_locked();
  static void on_commit_done(rd_kafka_t*, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* offsets, void* opaque);
  outcome<std::optional<log_offset>> committed(const topic_partition& tp) override;
  outcome<void> seek(const topic_partition& tp, log_offset offset) override;
  std::optional<log_offset> position_of(const topic_partition& tp) const override;
  std::vector<topic_partition> assignment() const override;
  void pause(const topic_partition& tp) override;
  void resume(const topic_partition& tp) override;
  void set_rebalance_listener(rebalance_listener listener) override;
  void wakeup() override;
  void close() override;
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);

 private:
  void handle_assign(rd_kafka_topic_partition_list_t* parts);
  void handle_revoke(rd_kafka_topic_partition_list_t* parts);
  std::map<topic_partition, int64_t> resolve_starts(const rd_kafka_topic_partition_list_t* parts);
  void call_listener(const std::vector<topic_partition>& revoked,
                     const std::vector<topic_partition>& assigned);
  void take(rd_kafka_message_t* m, std::vector<record>& out, std::optional<failure>& error);
  void commit_last_synchronously();

  client_context context_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::shared_ptr<group_link> link_; // set for a transactional handle's consumer
  const std::string group_;
  const bool commits_;
  const offset_reset reset_;

  mutable std::mutex mu_; // guards the sets and positions below (position_of from any thread)
  std::set<topic_partition> owned_;
  std::set<topic_partition> releasing_; // revoked, listener running (commits still allowed)
  std::map<topic_partition, int64_t> last_commit_; // latest commit asked for, per partition
  // Asynchronous commits waiting for the one in flight to be answered (latest per partition).
  std::map<topic_partition, int64_t> pending_commits_;
  bool commit_in_flight_ = false;

  std::set<topic_partition> paused_;
  std::set<topic_partition> refetch_; // paused partitions whose fetched records were dropped
  std::map<topic_partition, int64_t> positions_;
  bool assigning_ = false;

  // Polling thread only.
  rebalance_listener listener_;
  std::optional<failure> listener_error_;
  std::optional<failure> deferred_error_;
  std::atomic<bool> closing_{false};
  bool closed_ = false;
};

} // namespace eventide::storage
