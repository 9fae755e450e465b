// Internal to storage/: the Kafka log class behind open_kafka_log() (kafka_log.hpp). Defined in
// kafka_log.cpp, its transactions in kafka_transactions.cpp; txn_call, a template both use, is
// defined below.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/kafka_client.hpp"

namespace eventide::storage {

class kafka_log final : public log {
 public:
  explicit kafka_log(kafka_options options);
  ~kafka_log() override;

  outcome<void> start();
  outcome<std::shared_ptr<log>> open_transactional(const std::string& transactional_id) override;

  bool transactional() const override { return !options_.transactional_id.empty(); }
  uint64_t uncommitted() const override { return uncommitted_.load(); }
  bool fenced() const override { return fenced_.load(); }
  outcome<void> commit_transaction(
    const std::vector<std::pair<topic_partition, log_offset>>& offsets) override;
  outcome<void> abort_transaction() override;
  void produce(const std::string& topic, const std::string& key, std::string value,
               delivery_callback on_delivery) override;
  void produce_with_headers(const std::string& topic, const std::string& key, std::string value,
                            const record_headers& headers,
                            delivery_callback on_delivery) override;
  void serve(std::chrono::milliseconds timeout) override;
  outcome<void> flush(std::chrono::milliseconds timeout) override;
  outcome<int32_t> partition_count(const std::string& topic) override;
  outcome<watermarks> query_watermarks(const topic_partition& tp) override;
  outcome<std::optional<log_offset>> committed(const std::string& group,
                                            const topic_partition& tp) override;
  outcome<std::unique_ptr<consumer>> subscribe(const std::string& group,
                                               const std::vector<std::string>& topics,
                                               offset_reset reset) override;
  outcome<std::unique_ptr<consumer>>
  assign(const std::vector<std::pair<topic_partition, log_offset>>& start) override;

  std::string describe() const override { return "kafka:" + options_.brokers; }
  std::string last_error() const override { return context_.diag ? context_.diag->last() : ""; }

 private:
  outcome<void> begin();
  template <class Call>
  outcome<void> txn_call(const char* what, Call call);
  static void on_delivery_report(rd_kafka_t* rk, const rd_kafka_message_t* m, void*);

  // pending: the topic exists but some partitions have no leader yet (being created).
  enum class lookup_state { found, pending, missing, failed };

  lookup_state lookup_topic(const std::string& topic, int32_t& partitions, std::string& error);
  outcome<void> create_topic(const std::string& topic);
  outcome<int32_t> discover_topic(const std::string& topic);
  outcome<rd_kafka_t*> group_handle_locked(const std::string& group);

  const kafka_options options_;
  const broker_features features_;
  client_context context_;
  rd_kafka_t* producer_ = nullptr;
  std::atomic<bool> shutting_down_{false};

  // Transactional handles: txn_mu_ keeps produce() out of a commit; txn_open_ under it.
  std::mutex txn_mu_;
  bool txn_open_ = false;
  std::atomic<uint64_t> uncommitted_{0};
  std::atomic<bool> fenced_{false};
  std::shared_ptr<group_link> link_ = std::make_shared<group_link>();

  std::mutex mu_; // partition_counts_
  std::map<std::string, int32_t> partition_counts_;
  std::mutex lookup_mu_;
  std::mutex groups_mu_; // group_handles_
  std::map<std::string, rd_kafka_t*> group_handles_;
};

// Runs one transactional call: again while librdkafka says the call may be retried (a
// coordinator moving or loading, a broker briefly away); when it says the transaction must
// be aborted, aborts it and fails; fails on a fatal error (this id was fenced by a newer
// handle).
template <class Call>
outcome<void> kafka_log::txn_call(const char* what, Call call) {
  const auto deadline = steady::now() + std::chrono::milliseconds(4 * options_.transaction_timeout_ms);
  for (;;) {
    rd_kafka_error_t* e = call();
    if (!e)
      return {};
    std::string text = std::string(rd_kafka_error_name(e)) + ": " + rd_kafka_error_string(e);
    const bool retry = rd_kafka_error_is_retriable(e) && steady::now() < deadline;
    const bool abort = rd_kafka_error_txn_requires_abort(e);
    const bool fatal = rd_kafka_error_is_fatal(e);
    rd_kafka_error_destroy(e);
    context_.diag->note(std::string("transaction ") + what + ": " + text);
    if (retry && !abort && !fatal)
      continue;
    std::string where = "kafka: transaction " + std::string(what) + " as "
                        + options_.transactional_id + " failed: " + text;
    if (fatal) {
      txn_open_ = false;
      fenced_ = true;
      return fail(where + " (fatal: a newer instance with this transactional id fenced this"
                          " one; node ids must be unique per running node)");
    }
    if (abort && txn_open_) {
      if (rd_kafka_error_t* a = rd_kafka_abort_transaction(producer_, options_.transaction_timeout_ms))
        rd_kafka_error_destroy(a);
      txn_open_ = false;
      uncommitted_ = 0;
      (void) begin();
      return fail(where + " (aborted)");
    }
    return fail(where);
  }
}

} // namespace eventide::storage
