// The Kafka log's transactions (kafka_log_internal.hpp): transactional handles, commit (with
// the consumer's offsets) and abort, and opening the next transaction. txn_call, which runs
// each transactional call, is in kafka_log_internal.hpp: start() uses it too.
#include "storage/kafka_log_internal.hpp"

namespace eventide::storage {

outcome<std::shared_ptr<log>> kafka_log::open_transactional(const std::string& transactional_id) {
  if (!options_.exactly_once || !features_.transactions || transactional())
    return std::shared_ptr<log>{};
  if (transactional_id.empty())
    return fail("kafka: a transactional handle needs an id");
  kafka_options o = options_;
  o.transactional_id = transactional_id;
  o.client_id = options_.client_id + "-txn";
  auto handle = std::make_shared<kafka_log>(std::move(o));
  if (auto ok = handle->start(); !ok)
    return fail(ok.error());
  return std::shared_ptr<log>(std::move(handle));
}

outcome<void> kafka_log::commit_transaction(
  const std::vector<std::pair<topic_partition, log_offset>>& offsets) {
  if (!transactional())
    return fail("kafka: not a transactional handle");
  std::lock_guard<std::mutex> lk(txn_mu_);
  if (!txn_open_)
    return fail("kafka: transactional id " + options_.transactional_id
                + " has no open transaction (an earlier failure)");
  if (offsets.empty() && uncommitted_ == 0)
    return {};
  if (!offsets.empty()) {
    rd_kafka_consumer_group_metadata_t* md = nullptr;
    {
      std::lock_guard<std::mutex> l(link_->mu);
      if (link_->rk)
        md = rd_kafka_consumer_group_metadata(link_->rk);
    }
    if (!md)
      return fail("kafka: offsets to commit in transaction " + options_.transactional_id
                  + " but no consumer is subscribed through it");
    partition_list parts(static_cast<int>(offsets.size()));
    for (const auto& [tp, offset] : offsets)
      parts.add(tp, offset);
    auto sent = txn_call("send offsets", [&] {
      return rd_kafka_send_offsets_to_transaction(producer_, parts.list, md,
                                                  options_.transaction_timeout_ms);
    });
    rd_kafka_consumer_group_metadata_destroy(md);
    if (!sent)
      return sent;
  }
  if (auto ok = txn_call("commit", [&] {
        return rd_kafka_commit_transaction(producer_, options_.transaction_timeout_ms);
      });
      !ok)
    return ok;
  txn_open_ = false;
  uncommitted_ = 0;
  return begin();
}

outcome<void> kafka_log::abort_transaction() {
  if (!transactional())
    return fail("kafka: not a transactional handle");
  std::lock_guard<std::mutex> lk(txn_mu_);
  if (txn_open_) {
    if (auto ok = txn_call("abort", [&] {
          return rd_kafka_abort_transaction(producer_, options_.transaction_timeout_ms);
        });
        !ok)
      return ok;
    txn_open_ = false;
  }
  uncommitted_ = 0;
  return begin();
}

// Opens the next transaction (txn_mu_ held, or during start()).
outcome<void> kafka_log::begin() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(producer_)) {
    std::string text = rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return fail("kafka: cannot begin a transaction as " + options_.transactional_id + ": "
                + text);
  }
  txn_open_ = true;
  return {};
}

} // namespace eventide::storage
