// The Kafka log on librdkafka's C API. One producer handle serves produce, metadata, topic
// creation and watermarks; each subscribe()/assign() gets its own consumer handle; committed()
// uses one cached, never-subscribed consumer handle per group.
//
// Here: the log's producer side, topics (metadata, creation), watermarks, committed offsets and
// the consumers it creates (kafka_consumer.cpp). Configuration and helpers shared with the
// consumer: kafka_client.cpp; transactions: kafka_transactions.cpp.
#include "storage/kafka_log.hpp"

#include <cstdio>
#include <random>
#include <set>
#include <thread>

#include "storage/kafka_consumer.hpp"
#include "storage/kafka_log_internal.hpp"

namespace eventide::storage {

namespace {

std::string random_hex() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lk(mu);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

} // namespace

kafka_log::kafka_log(kafka_options options)
    : options_(std::move(options)), features_(features_for(options_.broker_version_fallback)) {
  context_.diag = std::make_shared<diagnostics>();
  context_.log = this;
}

kafka_log::~kafka_log() {
  shutting_down_ = true; // delivery callbacks are dropped from here on
  if (producer_ && transactional() && txn_open_) {
    // What was not committed is never read: abort now rather than leave readers waiting
    // for the broker's transaction timeout.
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(producer_, shutdown_flush_ms))
      rd_kafka_error_destroy(e);
  }
  if (producer_) {
    rd_kafka_flush(producer_, shutdown_flush_ms);
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(producer_, 1000); // serves the purge reports, freeing their callbacks
  }
  for (auto& [group, rk] : group_handles_)
    rd_kafka_destroy(rk);
  if (producer_)
    rd_kafka_destroy(producer_);
}

outcome<void> kafka_log::start() {
  conf_holder c;
  std::vector<std::pair<std::string, std::string>> txn_props;
  if (transactional())
    txn_props = {{"transactional.id", options_.transactional_id},
                 {"transaction.timeout.ms", std::to_string(options_.transaction_timeout_ms)}};
  if (auto ok = configure(c, options_, handle_role::producer, txn_props, &context_); !ok)
    return ok;
  rd_kafka_conf_set_dr_msg_cb(c.conf, on_delivery_report);
  auto rk = new_handle(c, handle_role::producer);
  if (!rk)
    return std::move(rk).take_failure();
  producer_ = *rk;
  // Fail early and clearly when nobody answers at the given address.
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(producer_, 0, nullptr, &md, 2 * metadata_timeout_ms);
  if (err)
    return fail("kafka: cannot reach brokers " + options_.brokers + ": "
                + rd_kafka_err2str(err) + context_.diag->suffix());
  rd_kafka_metadata_destroy(md);
  if (transactional()) {
    // Fences an older handle with this id and aborts what it left open.
    if (auto ok = txn_call("init", [&] {
          return rd_kafka_init_transactions(producer_, 2 * options_.transaction_timeout_ms);
        });
        !ok)
      return ok;
    if (auto ok = begin(); !ok)
      return ok;
  }
  return {};
}

void kafka_log::produce(const std::string& topic, const std::string& key, std::string value,
                        delivery_callback on_delivery) {
  produce_with_headers(topic, key, std::move(value), {}, std::move(on_delivery));
}

void kafka_log::produce_with_headers(const std::string& topic, const std::string& key,
                                     std::string value, const record_headers& headers,
                                     delivery_callback on_delivery) {
  auto count = partition_count(topic);
  if (!count) {
    if (on_delivery)
      on_delivery(std::move(count).take_failure());
    return;
  }
  const int32_t partition = partition_for_key(key, *count);
  auto* callback = new delivery_callback(std::move(on_delivery)); // freed by the report
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  // A transactional handle: into the open transaction, never while one is being committed.
  std::unique_lock<std::mutex> txn_lock(txn_mu_, std::defer_lock);
  if (transactional()) {
    txn_lock.lock();
    ++uncommitted_;
  }
  // Kafka 0.9's message format has no headers: the record goes without them.
  rd_kafka_headers_t* hdrs = nullptr;
  if (features_.headers && !headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, val] : headers)
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), val.data(),
                          static_cast<ssize_t>(val.size()));
  }
  for (int attempt = 0;; ++attempt) {
    err = hdrs ? rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                                   RD_KAFKA_V_PARTITION(partition),
                                   RD_KAFKA_V_KEY(key.data(), key.size()),
                                   RD_KAFKA_V_VALUE(value.data(), value.size()),
                                   RD_KAFKA_V_HEADERS(hdrs),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_OPAQUE(callback), RD_KAFKA_V_END)
               : rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                                   RD_KAFKA_V_PARTITION(partition),
                                   RD_KAFKA_V_KEY(key.data(), key.size()),
                                   RD_KAFKA_V_VALUE(value.data(), value.size()),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_OPAQUE(callback), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt >= queue_full_retries)
      break;
    rd_kafka_poll(producer_, 10); // deliveries free queue space
  }
  if (err && hdrs)
    rd_kafka_headers_destroy(hdrs); // taken by librdkafka only on success
  if (err) {
    delivery_callback cb = std::move(*callback);
    delete callback;
    if (cb)
      cb(fail("kafka: cannot produce to " + topic + "/" + std::to_string(partition) + ": "
              + rd_kafka_err2str(err)));
  }
}

void kafka_log::serve(std::chrono::milliseconds timeout) {
  rd_kafka_poll(producer_, static_cast<int>(timeout.count()));
}

outcome<void> kafka_log::flush(std::chrono::milliseconds timeout) {
  auto err = rd_kafka_flush(producer_, static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT)
    return fail("kafka: " + std::to_string(rd_kafka_outq_len(producer_))
                + " records still undelivered after " + std::to_string(timeout.count())
                + " ms" + context_.diag->suffix());
  if (err)
    return fail(std::string("kafka: flush failed: ") + rd_kafka_err2str(err));
  return {};
}

outcome<int32_t> kafka_log::partition_count(const std::string& topic) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = partition_counts_.find(topic);
    if (it != partition_counts_.end())
      return it->second;
  }
  if (auto ok = check_topic_name(topic); !ok)
    return fail("kafka: " + ok.error());
  std::lock_guard<std::mutex> lookup(lookup_mu_); // one metadata walk at a time
  auto count = discover_topic(topic);
  if (count) {
    std::lock_guard<std::mutex> lk(mu_);
    partition_counts_[topic] = *count;
  }
  return count;
}

outcome<watermarks> kafka_log::query_watermarks(const topic_partition& tp) {
  auto count = partition_count(tp.topic);
  if (!count)
    return std::move(count).take_failure();
  if (tp.partition < 0 || tp.partition >= *count)
    return fail("kafka: topic '" + tp.topic + "' has no partition "
                + std::to_string(tp.partition) + " (it has " + std::to_string(*count) + ")");
  return fetch_watermarks(producer_, tp, *context_.diag);
}

outcome<std::optional<log_offset>> kafka_log::committed(const std::string& group,
                                                     const topic_partition& tp) {
  if (group.empty())
    return fail("kafka: committed offsets need a consumer group id");
  std::lock_guard<std::mutex> lk(groups_mu_);
  auto handle = group_handle_locked(group);
  if (!handle)
    return std::move(handle).take_failure();
  rd_kafka_poll(*handle, 0); // drain its (otherwise unserved) error events
  return fetch_committed(*handle, group, tp, *context_.diag);
}

outcome<std::unique_ptr<consumer>> kafka_log::subscribe(const std::string& group,
                                                        const std::vector<std::string>& topics,
                                                        offset_reset reset) {
  if (group.empty())
    return fail("kafka: subscribe needs a consumer group id");
  if (topics.empty())
    return fail("kafka: subscribe needs at least one topic");
  for (const auto& t : topics) // like the embedded log, subscribing makes the topic exist
    if (auto count = partition_count(t); !count)
      return std::move(count).take_failure();
  auto c = std::make_unique<kafka_consumer>(context_.diag, group, true, reset);
  c->context()->consumer = c.get();
  conf_holder conf;
  if (auto ok = configure(conf, options_, handle_role::consumer,
                          {{"group.id", group},
                           {"auto.offset.reset",
                            reset == offset_reset::earliest ? "earliest" : "latest"}},
                          c->context());
      !ok)
    return fail(ok.error());
  rd_kafka_conf_set_rebalance_cb(conf.conf, kafka_consumer::on_rebalance);
  auto rk = new_handle(conf, handle_role::consumer);
  if (!rk)
    return std::move(rk).take_failure();
  c->attach(*rk);
  if (transactional()) {
    {
      std::lock_guard<std::mutex> lk(link_->mu);
      if (link_->rk)
        return fail("kafka: transactional handle " + options_.transactional_id
                    + " already has a consumer (one group per transactional id)");
    }
    c->link(link_);
  }
  if (auto ok = c->start_subscription(topics); !ok)
    return fail(ok.error());
  return std::unique_ptr<consumer>(std::move(c));
}

outcome<std::unique_ptr<consumer>>
kafka_log::assign(const std::vector<std::pair<topic_partition, log_offset>>& start) {
  std::set<topic_partition> seen;
  for (const auto& [tp, offset] : start) {
    auto marks = query_watermarks(tp);
    if (!marks)
      return std::move(marks).take_failure();
    if (offset < marks->low || offset > marks->high)
      return fail("kafka: cannot start " + to_string(tp) + " at " + std::to_string(offset)
                  + ": valid offsets are " + std::to_string(marks->low) + ".."
                  + std::to_string(marks->high));
    if (!seen.insert(tp).second)
      return fail("kafka: " + to_string(tp) + " is assigned twice");
  }
  // rd_kafka_assign() needs a group id; this one is never joined nor committed to.
  auto c = std::make_unique<kafka_consumer>(context_.diag, "", false, offset_reset::earliest);
  conf_holder conf;
  if (auto ok = configure(conf, options_, handle_role::consumer,
                          {{"group.id", "eventide-assign-" + random_hex()}}, c->context());
      !ok)
    return fail(ok.error());
  auto rk = new_handle(conf, handle_role::consumer);
  if (!rk)
    return std::move(rk).take_failure();
  c->attach(*rk);
  if (auto ok = c->start_assigned(start); !ok)
    return fail(ok.error());
  return std::unique_ptr<consumer>(std::move(c));
}

void kafka_log::on_delivery_report(rd_kafka_t* rk, const rd_kafka_message_t* m, void*) {
  auto* callback = static_cast<delivery_callback*>(m->_private);
  auto* self = static_cast<client_context*>(rd_kafka_opaque(rk))->log;
  std::string topic = rd_kafka_topic_name(m->rkt);
  if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION
      || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    std::lock_guard<std::mutex> lk(self->mu_);
    self->partition_counts_.erase(topic); // look the topic up again next time
  }
  if (callback && *callback && !self->shutting_down_) {
    outcome<position> result =
      m->err ? outcome<position>(fail("kafka: delivery to " + topic + "/"
                                      + std::to_string(m->partition)
                                      + " failed: " + rd_kafka_err2str(m->err)))
             // An idempotent producer's retry that the broker recognises as a duplicate of
             // a batch it already wrote is acknowledged without an offset: report -1.
             : outcome<position>(position{partition_id{m->partition},
                                                     log_offset{m->offset >= 0 ? m->offset : -1}});
    // An exception must not unwind through librdkafka's C frames.
    try {
      (*callback)(std::move(result));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kafka: delivery callback threw: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "kafka: delivery callback threw\n");
    }
  }
  delete callback;
}

// One metadata request for `topic`. `error` names the partitions without a leader (pending)
// or the failure.
kafka_log::lookup_state kafka_log::lookup_topic(const std::string& topic,
                                                int32_t& partitions, std::string& error) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer_, topic.c_str(), nullptr);
  if (!rkt) {
    error = std::string("invalid topic: ") + rd_kafka_err2str(rd_kafka_last_error());
    return lookup_state::failed;
  }
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(producer_, 0, rkt, &md, metadata_timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err) {
    error = std::string("metadata request failed: ") + rd_kafka_err2str(err)
            + context_.diag->suffix();
    return lookup_state::failed;
  }
  lookup_state state = lookup_state::missing;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic)
      continue;
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0) {
      partitions = t.partition_cnt;
      // Usable once every partition has a leader: a client that reads watermarks or
      // offsets of a partition without one gets an error instead of an answer.
      std::string leaderless;
      for (int p = 0; p < t.partition_cnt; ++p) {
        const auto& part = t.partitions[p];
        if (part.leader < 0 || part.err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
          leaderless += (leaderless.empty() ? "" : ", ") + std::to_string(part.id);
      }
      if (leaderless.empty()) {
        state = lookup_state::found;
      } else {
        error = "partitions " + leaderless + " of " + std::to_string(t.partition_cnt)
                + " have no leader";
        state = lookup_state::pending;
      }
    } else if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR
               && t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
               && t.err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) { // being created
      error = rd_kafka_err2str(t.err);
      state = lookup_state::failed;
    }
  }
  rd_kafka_metadata_destroy(md);
  return state;
}

outcome<void> kafka_log::create_topic(const std::string& topic) {
  char err[512];
  rd_kafka_NewTopic_t* nt =
    rd_kafka_NewTopic_new(topic.c_str(), options_.partitions, 1, err, sizeof err);
  if (!nt)
    return fail("kafka: cannot create topic " + topic + ": " + err);
  const std::string retention = std::to_string(options_.retention_ms);
  if (auto e = rd_kafka_NewTopic_set_config(nt, "retention.ms", retention.c_str())) {
    rd_kafka_NewTopic_destroy(nt);
    return fail("kafka: cannot create topic " + topic + ": retention.ms=" + retention + ": "
                + rd_kafka_err2str(e));
  }
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(producer_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, topic_wait_ms, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_);
  rd_kafka_CreateTopics(producer_, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, topic_wait_ms + metadata_timeout_ms);
  std::string error;
  if (!ev) {
    error = "no answer from the brokers";
  } else if (rd_kafka_event_error(ev)) {
    error = rd_kafka_event_error_string(ev);
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(results[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* text = rd_kafka_topic_result_error_string(results[i]);
        error = text ? text : rd_kafka_err2str(e);
      }
    }
  }
  if (ev)
    rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  if (!error.empty())
    return fail("kafka: cannot create topic " + topic + " (" + std::to_string(options_.partitions)
                + " partitions, retention.ms " + retention + "): " + error);
  return {};
}

// Metadata lookup that creates (modern broker) or waits for (0.9 auto-create) the topic, and
// waits until every partition has a leader.
outcome<int32_t> kafka_log::discover_topic(const std::string& topic) {
  const bool can_create = features_.admin_api && options_.create_topics;
  const auto start = steady::now();
  // A topic nobody creates is given up on sooner than one being created.
  const auto missing_deadline =
    start + std::chrono::milliseconds(can_create ? topic_wait_ms : legacy_autocreate_ms);
  const auto leader_deadline = start + std::chrono::milliseconds(topic_wait_ms);
  bool created = false;
  for (;;) {
    int32_t partitions = 0;
    std::string error;
    switch (lookup_topic(topic, partitions, error)) {
      case lookup_state::found:
        return partitions;
      case lookup_state::failed:
        return fail("kafka: topic " + topic + ": " + error);
      case lookup_state::pending:
        if (steady::now() >= leader_deadline)
          return fail("kafka: topic " + topic + ": " + error + " after "
                      + std::to_string(topic_wait_ms / 1000) + " s" + context_.diag->suffix());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      case lookup_state::missing:
        break;
    }
    if (can_create && !created) {
      if (auto ok = create_topic(topic); !ok)
        return fail(ok.error());
      created = true;
      continue;
    }
    if (steady::now() >= missing_deadline) {
      if (!features_.admin_api)
        return fail("kafka: topic " + topic
                    + " does not exist (Kafka 0.9 has no CreateTopics API; create it with "
                      "scripts/kafka-test-env.sh create-topics)");
      if (!options_.create_topics)
        return fail("kafka: topic " + topic + " does not exist (topic creation is off)");
      return fail("kafka: topic " + topic + " was created but does not show up in metadata"
                  + context_.diag->suffix());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

outcome<rd_kafka_t*> kafka_log::group_handle_locked(const std::string& group) {
  auto it = group_handles_.find(group);
  if (it != group_handles_.end())
    return it->second;
  conf_holder conf;
  if (auto ok = configure(conf, options_, handle_role::consumer, {{"group.id", group}},
                          &context_);
      !ok)
    return fail(ok.error());
  auto rk = new_handle(conf, handle_role::consumer);
  if (!rk)
    return rk;
  group_handles_.emplace(group, *rk);
  return rk;
}

outcome<std::unique_ptr<log>> open_kafka_log(const kafka_options& options) {
  if (options.brokers.empty())
    return fail("kafka: no brokers given");
  if (options.partitions < 1)
    return fail("kafka: partitions must be at least 1, got " + std::to_string(options.partitions));
  if (options.retention_ms < -1 || options.retention_ms == 0)
    return fail("kafka: retention_ms must be -1 (forever) or positive, got "
                + std::to_string(options.retention_ms));
  if (options.session_timeout_ms < 1)
    return fail("kafka: session_timeout_ms must be positive, got "
                + std::to_string(options.session_timeout_ms));
  auto log = std::make_unique<kafka_log>(options);
  if (auto ok = log->start(); !ok)
    return fail(ok.error());
  return std::unique_ptr<storage::log>(std::move(log));
}

} // namespace eventide::storage
