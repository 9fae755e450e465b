// The Kafka log on librdkafka's C API. One producer handle serves produce, metadata, topic
// creation and watermarks; each subscribe()/assign() gets its own consumer handle; committed()
// uses one cached, never-subscribed consumer handle per group.
//
// Rebalances are eager (roundrobin assignor; Kafka 0.9 knows no other kind): a member first has
// all its partitions revoked, then gets its new set. On assignment this backend resolves each
// partition's start (committed offset, else the reset watermark) before calling the listener, so
// position_of() is known right away and a seek from the listener simply replaces the start that
// rd_kafka_assign() then uses.
#include "storage/kafka_log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <librdkafka/rdkafka.h>

namespace eventide::storage {

namespace {

using steady = std::chrono::steady_clock;

constexpr int metadata_timeout_ms = 5000;  // one metadata / watermark / offset request
constexpr int topic_wait_ms = 15000;       // until a created topic's partitions all have leaders
constexpr int leader_wait_ms = 10000;      // watermarks: while a partition's leadership moves
constexpr int legacy_autocreate_ms = 5000; // until a 0.9 broker's auto-created topic shows up
constexpr int queue_full_retries = 100;    // x 10 ms polling before produce gives up
constexpr int shutdown_flush_ms = 10000;

std::string tp_text(const topic_partition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

// Kafka's topic name rule, checked here so a bad name fails at once with a clear reason instead
// of as a broker error (or an auto-created oddity) later.
outcome<void> check_topic_name(const std::string& topic) {
  if (topic.empty())
    return fail("kafka: topic name is empty");
  if (topic.size() > 249)
    return fail("kafka: topic name '" + topic + "' is longer than 249 characters");
  if (topic == "." || topic == "..")
    return fail("kafka: topic name '" + topic + "' is not allowed");
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-';
    if (!ok)
      return fail("kafka: topic name '" + topic
                  + "' may only contain letters, digits, '.', '_' and '-'");
  }
  return {};
}

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

broker_features features_for(const std::string& fallback) {
  broker_features f;
  if (fallback.empty())
    return f;
  int major = 0, minor = 0, patch = 0;
  std::sscanf(fallback.c_str(), "%d.%d.%d", &major, &minor, &patch);
  auto at_least = [&](int ma, int mi, int pa) {
    if (major != ma)
      return major > ma;
    if (minor != mi)
      return minor > mi;
    return patch >= pa;
  };
  f.api_version_request = at_least(0, 10, 0);
  f.admin_api = at_least(0, 10, 1);
  f.idempotence = at_least(0, 11, 0);
  f.transactions = at_least(0, 11, 0);
  f.headers = at_least(0, 11, 0);
  return f;
}

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

// Warnings librdkafka logs for a condition it retries by itself and that is expected to pass:
// noted (health.json, failure suffixes) but not printed. A broker that has just started (Kafka 4
// within a second or two of its start) answers the idempotent producer's InitProducerId with
// COORDINATOR_LOAD_IN_PROGRESS, and librdkafka logs "Failed to acquire idempotence PID from
// broker ...: Coordinator load in progress: retrying" for every retry. If it never passes, the
// records' delivery times out and that failure carries the note.
bool transient_warning(const char* facility, const char* text) {
  const std::string f = facility, t = text;
  auto ends_with = [&](const std::string& tail) {
    return t.size() >= tail.size() && t.compare(t.size() - tail.size(), tail.size(), tail) == 0;
  };
  return f == "GETPID" && t.find("Coordinator load in progress") != std::string::npos
         && ends_with("retrying");
}

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  if (level > 4) // syslog levels: 4 = warning
    return;
  if (!transient_warning(facility, text))
    std::fprintf(stderr, "librdkafka %s [%s]: %s\n", rd_kafka_name(rk), facility, text);
  if (auto* ctx = static_cast<client_context*>(rd_kafka_opaque(rk)))
    ctx->diag->note(text);
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* ctx = static_cast<client_context*>(opaque);
  std::string text = std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)))
                     + ": " + reason;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    text += std::string(" - ") + fatal;
    std::fprintf(stderr, "librdkafka %s fatal: %s\n", rd_kafka_name(rk), text.c_str());
  }
  if (ctx)
    ctx->diag->note(text);
}

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

// Settings shared by every handle, then the role's, then the user's extra properties.
outcome<void> configure(conf_holder& c, const kafka_options& o, handle_role role,
                        const std::vector<std::pair<std::string, std::string>>& role_props,
                        client_context* ctx) {
  const broker_features f = features_for(o.broker_version_fallback);
  std::vector<std::pair<std::string, std::string>> props = {
    {"bootstrap.servers", o.brokers},
    {"client.id", o.client_id},
    {"socket.nagle.disable", "true"}, // small records, latency matters more than packing
  };
  if (!o.broker_version_fallback.empty()) {
    props.push_back({"broker.version.fallback", o.broker_version_fallback});
    if (!f.api_version_request)
      props.push_back({"api.version.request", "false"});
  }
  if (role == handle_role::producer) {
    props.push_back({"acks", "all"});
    props.push_back({"linger.ms", "0"});
    if (f.idempotence)
      props.push_back({"enable.idempotence", "true"});
    // One request in flight per connection, with or without idempotence. Without it, a retried
    // request could overtake the next one. With it, librdkafka 2.0.2 (Debian 12) lost a record
    // after retriable errors when several requests were in flight: the first record was
    // acknowledged (offset -1, "already written") but never stored, in 3-4 of 40 runs of the
    // mock-cluster fault test ("retriable produce errors still deliver once and in order");
    // with one in flight, 0 of 40. librdkafka 2.3 fixed idempotent-producer sequence handling
    // after retries (its PR #4438).
    props.push_back({"max.in.flight.requests.per.connection", "1"});
    // Our partition count, not the broker's default, for topics we create.
    if (f.admin_api && f.api_version_request)
      props.push_back({"allow.auto.create.topics", "false"});
  } else {
    props.push_back({"enable.auto.commit", "false"});
    props.push_back({"enable.auto.offset.store", "false"});
    props.push_back({"session.timeout.ms", std::to_string(o.session_timeout_ms)});
    props.push_back({"partition.assignment.strategy", "roundrobin"});
    // Brokers answer a waiting fetch as soon as data arrives, so a long wait costs no latency
    // and keeps idle consumers quiet. (librdkafka's mock cluster always waits it out: use
    // extra {"consumer.fetch.wait.max.ms", "1"} there.)
    props.push_back({"fetch.wait.max.ms", "100"});
    // The end of a partition is reported (take()): a transaction's commit or abort marker
    // takes an offset that no record has, so after a transactional writer the position of the
    // last record read never reaches the high watermark.
    props.push_back({"enable.partition.eof", "true"});
  }
  props.insert(props.end(), role_props.begin(), role_props.end());
  // "producer."/"consumer." prefixed extras go to that role only (librdkafka warns about
  // properties a handle ignores); plain keys go to every handle.
  const std::string mine = role == handle_role::producer ? "producer." : "consumer.";
  const std::string other = role == handle_role::producer ? "consumer." : "producer.";
  for (const auto& [key, value] : o.extra) {
    if (key.rfind(mine, 0) == 0)
      props.push_back({key.substr(mine.size()), value});
    else if (key.rfind(other, 0) != 0)
      props.push_back({key, value});
  }
  for (const auto& [key, value] : props)
    if (auto ok = c.set(key, value); !ok)
      return ok;
  rd_kafka_conf_set_log_cb(c.conf, on_log);
  rd_kafka_conf_set_error_cb(c.conf, on_error);
  rd_kafka_conf_set_opaque(c.conf, ctx);
  return {};
}

outcome<rd_kafka_t*> new_handle(conf_holder& c, handle_role role) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(role == handle_role::producer ? RD_KAFKA_PRODUCER
                                                              : RD_KAFKA_CONSUMER,
                                c.conf, err, sizeof err);
  if (!rk)
    return fail(std::string("kafka: cannot create client: ") + err);
  c.conf = nullptr; // owned by rk now
  return rk;
}

std::string random_hex() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lk(mu);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

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

std::vector<topic_partition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<topic_partition> out;
  for (int i = 0; list && i < list->cnt; ++i)
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

// Errors of a partition whose leadership is being settled: a new topic (on Kafka 4 a
// partition's leader shows in the metadata a moment before it serves ListOffsets), a leader
// election, a broker that just restarted. They pass by themselves.
bool leadership_moving(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
      return true;
    default:
      return false;
  }
}

// Asks the broker for a partition's low/high watermarks; retries for up to leader_wait_ms while
// the partition's leadership is moving.
outcome<watermarks> fetch_watermarks(rd_kafka_t* rk, const topic_partition& tp,
                                     const diagnostics& diag) {
  const auto deadline = steady::now() + std::chrono::milliseconds(leader_wait_ms);
  for (;;) {
    int64_t low = 0, high = 0;
    auto err = rd_kafka_query_watermark_offsets(rk, tp.topic.c_str(), tp.partition, &low, &high,
                                                metadata_timeout_ms);
    if (!err)
      return watermarks{low, high};
    if (!leadership_moving(err))
      return fail("kafka: watermarks of " + tp_text(tp) + ": " + rd_kafka_err2str(err)
                  + diag.suffix());
    if (steady::now() >= deadline)
      return fail("kafka: watermarks of " + tp_text(tp) + ": " + rd_kafka_err2str(err)
                  + " for " + std::to_string(leader_wait_ms / 1000) + " s" + diag.suffix());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// ---- consumer ---------------------------------------------------------------------------

class kafka_consumer final : public consumer {
 public:
  kafka_consumer(std::shared_ptr<diagnostics> diag, std::string group, bool commits,
                 offset_reset reset)
      : group_(std::move(group)), commits_(commits), reset_(reset) {
    context_.diag = std::move(diag);
  }

  ~kafka_consumer() override {
    close();
    if (queue_)
      rd_kafka_queue_destroy(queue_);
    if (rk_)
      rd_kafka_destroy(rk_);
  }

  client_context* context() { return &context_; }

  // For a transactional handle's consumer: publishes the handle while it is open.
  void link(std::shared_ptr<group_link> l) {
    link_ = std::move(l);
    std::lock_guard<std::mutex> lk(link_->mu);
    link_->rk = rk_;
  }

  // Takes ownership of the handle and routes all its events to the consumer queue, so poll()
  // serves rebalances and errors and wakeup() can interrupt it.
  void attach(rd_kafka_t* rk) {
    rk_ = rk;
    rd_kafka_poll_set_consumer(rk_);
    queue_ = rd_kafka_queue_get_consumer(rk_);
  }

  // For assign(): the partitions and where to start.
  outcome<void> start_assigned(const std::vector<std::pair<topic_partition, int64_t>>& start) {
    partition_list parts(static_cast<int>(start.size()));
    for (const auto& [tp, offset] : start) {
      parts.add(tp, offset);
      owned_.insert(tp);
      positions_[tp] = offset;
    }
    if (auto err = rd_kafka_assign(rk_, parts.list))
      return fail(std::string("kafka: assign failed: ") + rd_kafka_err2str(err));
    return {};
  }

  outcome<void> start_subscription(const std::vector<std::string>& topics) {
    partition_list parts(static_cast<int>(topics.size()));
    for (const auto& t : topics)
      parts.add({t, RD_KAFKA_PARTITION_UA}, RD_KAFKA_OFFSET_INVALID);
    if (auto err = rd_kafka_subscribe(rk_, parts.list))
      return fail("kafka: subscribe of group '" + group_ + "' failed: " + rd_kafka_err2str(err));
    return {};
  }

  outcome<std::vector<record>> poll(size_t max_records,
                                    std::chrono::milliseconds timeout) override {
    if (closed_)
      return fail("kafka: poll on a closed consumer");
    if (deferred_error_) {
      failure f = std::move(*deferred_error_);
      deferred_error_.reset();
      return f;
    }
    std::vector<record> out;
    if (max_records == 0)
      return out;
    std::optional<failure> error;
    const auto deadline = steady::now() + timeout;
    // Wait for the first record (skipped messages keep the wait going), then drain.
    while (out.empty() && !error) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      rd_kafka_message_t* m =
        rd_kafka_consumer_poll(rk_, static_cast<int>(std::max<int64_t>(0, left.count())));
      if (!m)
        break; // timed out or woken up
      take(m, out, error);
      if (listener_error_)
        break;
      if (steady::now() >= deadline)
        break;
    }
    while (out.size() < max_records && !error && !listener_error_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 0);
      if (!m)
        break;
      take(m, out, error);
    }
    if (listener_error_) {
      failure f = std::move(*listener_error_);
      listener_error_.reset();
      if (out.empty())
        return f;
      error = std::move(f);
    }
    if (error) {
      if (out.empty())
        return std::move(*error);
      deferred_error_ = std::move(error); // reported by the next poll; records first
    }
    return out;
  }

  outcome<void> commit(const topic_partition& tp, int64_t next_offset) override {
    return commit_impl(tp, next_offset, false);
  }

  outcome<void> commit_async(const topic_partition& tp, int64_t next_offset) override {
    return commit_impl(tp, next_offset, true);
  }

  outcome<void> commit_impl(const topic_partition& tp, int64_t next_offset, bool may_defer) {
    if (!commits_)
      return {}; // assign() consumers have no group to commit for
    if (closed_)
      return fail("kafka: commit on a closed consumer");
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!owned_.count(tp) && !releasing_.count(tp))
        return fail("kafka: cannot commit " + tp_text(tp) + " for group '" + group_
                    + "': the partition is not assigned to this member");
    }
    if (next_offset < 0)
      return fail("kafka: cannot commit negative offset " + std::to_string(next_offset) + " for "
                  + tp_text(tp));
    bool handing_over = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      handing_over = releasing_.count(tp) > 0;
      last_commit_[tp] = next_offset;
      // commit_async() in steady state: a lost commit only means redelivery (at-least-once),
      // and a broker round trip per poll cycle would be on every hop's critical path.
      if (may_defer && !handing_over) {
        pending_commits_[tp] = next_offset;
        if (commit_in_flight_)
          return {}; // goes with the next OffsetCommit, when the one in flight is answered
        return send_pending_commits_locked();
      }
      // Synchronous (commit(), or handing the partition over, so that the next owner starts
      // exactly after what was handled): it carries the newest offset, and an older one still
      // waiting must not follow it.
      pending_commits_.erase(tp);
    }
    partition_list parts;
    auto* p = parts.add(tp, next_offset);
    auto err = rd_kafka_commit(rk_, parts.list, 0);
    if (!err)
      err = p->err;
    if (err)
      return fail("kafka: commit " + tp_text(tp) + "=" + std::to_string(next_offset)
                  + " for group '" + group_ + "' failed: " + rd_kafka_err2str(err)
                  + context_.diag->suffix());
    return {};
  }

  // Asynchronous commits go one OffsetCommit at a time per consumer, each with the latest
  // offset asked for per partition. A broker answers a connection's requests in order, and
  // Kafka 4's group coordinator answers an OffsetCommit only after its batched append
  // (group.coordinator.append.linger.ms, 5 ms): a commit per record and poll queued seconds of
  // commits in front of the heartbeats, the session timed out, and the group rebalanced. One
  // in flight lets the commit rate follow the coordinator's pace, whatever the record rate.
  outcome<void> send_pending_commits_locked() {
    partition_list parts(static_cast<int>(pending_commits_.size()));
    for (const auto& [tp, offset] : pending_commits_)
      parts.add(tp, offset);
    pending_commits_.clear();
    // The result is served by poll() (the consumer queue), which calls on_commit_done.
    auto err = rd_kafka_commit_queue(rk_, parts.list, queue_, on_commit_done, this);
    if (err)
      return fail("kafka: commit for group '" + group_ + "' failed: " + rd_kafka_err2str(err)
                  + context_.diag->suffix());
    commit_in_flight_ = true;
    return {};
  }

  static void on_commit_done(rd_kafka_t*, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<kafka_consumer*>(opaque);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      self->context_.diag->note(std::string("asynchronous commit failed: ")
                                + rd_kafka_err2str(err));
    for (int i = 0; offsets && i < offsets->cnt; ++i)
      if (offsets->elems[i].err)
        self->context_.diag->note("asynchronous commit of " + std::string(offsets->elems[i].topic)
                                  + "/" + std::to_string(offsets->elems[i].partition)
                                  + " failed: " + rd_kafka_err2str(offsets->elems[i].err));
    std::lock_guard<std::mutex> lk(self->mu_);
    self->commit_in_flight_ = false;
    if (!self->pending_commits_.empty() && !self->closing_) {
      if (auto sent = self->send_pending_commits_locked(); !sent)
        self->context_.diag->note(sent.error());
    }
  }

  outcome<void> seek(const topic_partition& tp, int64_t offset) override {
    bool during_assign = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!owned_.count(tp))
        return fail("kafka: cannot seek " + tp_text(tp)
                    + ": the partition is not assigned to this consumer");
      during_assign = assigning_;
    }
    auto marks = fetch_watermarks(rk_, tp, *context_.diag);
    if (!marks)
      return std::move(marks).take_failure();
    if (offset < marks->low || offset > marks->high)
      return fail("kafka: cannot seek " + tp_text(tp) + " to " + std::to_string(offset)
                  + ": valid offsets are " + std::to_string(marks->low) + ".."
                  + std::to_string(marks->high));
    if (!during_assign) {
      // Seeking also discards what was already fetched from the old position.
      partition_list parts;
      auto* p = parts.add(tp, offset);
      rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, parts.list, metadata_timeout_ms);
      if (error) {
        std::string text = rd_kafka_error_string(error);
        rd_kafka_error_destroy(error);
        return fail("kafka: seek " + tp_text(tp) + " to " + std::to_string(offset) + ": " + text);
      }
      if (p->err)
        return fail("kafka: seek " + tp_text(tp) + " to " + std::to_string(offset) + ": "
                    + rd_kafka_err2str(p->err));
    } // else rd_kafka_assign() starts there once the listener returns
    std::lock_guard<std::mutex> lk(mu_);
    positions_[tp] = offset;
    refetch_.erase(tp); // the seek already restarts fetching
    return {};
  }

  std::optional<int64_t> position_of(const topic_partition& tp) const override {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = positions_.find(tp);
    if (it == positions_.end())
      return std::nullopt;
    return it->second;
  }

  std::vector<topic_partition> assignment() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return {owned_.begin(), owned_.end()};
  }

  void pause(const topic_partition& tp) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!owned_.count(tp) || !paused_.insert(tp).second)
        return;
    }
    partition_list parts;
    parts.add(tp, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_pause_partitions(rk_, parts.list);
  }

  void resume(const topic_partition& tp) override {
    std::optional<int64_t> refetch_from;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (paused_.erase(tp) == 0)
        return;
      if (refetch_.erase(tp) > 0 && positions_.count(tp))
        refetch_from = positions_[tp];
    }
    partition_list parts;
    parts.add(tp, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_resume_partitions(rk_, parts.list);
    if (refetch_from) {
      // poll() dropped records that were already on their way when the pause began.
      partition_list target;
      target.add(tp, *refetch_from);
      if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, target.list, metadata_timeout_ms)) {
        context_.diag->note("re-seek after resume of " + tp_text(tp) + ": "
                            + rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
      }
    }
  }

  void set_rebalance_listener(rebalance_listener listener) override {
    listener_ = std::move(listener);
  }

  void wakeup() override {
    if (queue_)
      rd_kafka_queue_yield(queue_);
  }

  void close() override {
    if (closed_ || !rk_)
      return;
    closing_ = true; // the revocation during close leaves the listener alone
    if (link_) {
      std::lock_guard<std::mutex> lk(link_->mu);
      link_->rk = nullptr;
    }
    commit_last_synchronously();
    rd_kafka_consumer_close(rk_);
    closed_ = true;
    std::lock_guard<std::mutex> lk(mu_);
    owned_.clear();
    releasing_.clear();
    paused_.clear();
    positions_.clear();
  }

  // Called by librdkafka from inside rd_kafka_consumer_poll()/rd_kafka_consumer_close().
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<client_context*>(opaque)->consumer;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->handle_assign(parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      self->handle_revoke(parts);
    } else {
      self->context_.diag->note(std::string("rebalance failed: ") + rd_kafka_err2str(err));
      rd_kafka_assign(rk, nullptr);
    }
  }

 private:
  void handle_assign(rd_kafka_topic_partition_list_t* parts) {
    const auto granted = to_vector(parts);
    const auto starts = resolve_starts(parts);
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (const auto& tp : granted) {
        owned_.insert(tp);
        auto s = starts.find(tp);
        if (s != starts.end())
          positions_[tp] = s->second;
      }
      assigning_ = true;
    }
    if (!closing_)
      call_listener({}, granted);
    std::vector<topic_partition> to_pause;
    {
      std::lock_guard<std::mutex> lk(mu_);
      assigning_ = false;
      // Start where the listener left the position (committed/reset unless it sought).
      for (int i = 0; i < parts->cnt; ++i) {
        topic_partition tp{parts->elems[i].topic, parts->elems[i].partition};
        auto pos = positions_.find(tp);
        parts->elems[i].offset = pos != positions_.end() ? pos->second : RD_KAFKA_OFFSET_INVALID;
        if (paused_.count(tp))
          to_pause.push_back(tp);
      }
    }
    if (auto err = rd_kafka_assign(rk_, parts))
      listener_error_ = fail(std::string("kafka: assign after rebalance failed: ")
                             + rd_kafka_err2str(err));
    if (!to_pause.empty()) {
      partition_list paused(static_cast<int>(to_pause.size()));
      for (const auto& tp : to_pause)
        paused.add(tp, RD_KAFKA_OFFSET_INVALID);
      rd_kafka_pause_partitions(rk_, paused.list);
    }
  }

  void handle_revoke(rd_kafka_topic_partition_list_t* parts) {
    const auto revoked = to_vector(parts);
    partition_list waiting;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (const auto& tp : revoked) {
        owned_.erase(tp); // no longer read; commits stay allowed until the listener is done
        releasing_.insert(tp);
        auto pending = pending_commits_.find(tp);
        if (pending != pending_commits_.end()) {
          waiting.add(tp, pending->second);
          pending_commits_.erase(pending);
        }
      }
    }
    // Asynchronous commits still waiting for their turn land before the partitions go.
    if (waiting.list->cnt > 0)
      if (auto err = rd_kafka_commit(rk_, waiting.list, 0))
        context_.diag->note(std::string("commit before giving partitions up: ")
                            + rd_kafka_err2str(err));
    if (!closing_)
      call_listener(revoked, {});
    rd_kafka_assign(rk_, nullptr);
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& tp : revoked) {
      releasing_.erase(tp);
      positions_.erase(tp);
      paused_.erase(tp);
      refetch_.erase(tp);
    }
  }

  // Where each assigned partition starts: its committed offset, else the reset watermark. A
  // partition missing here starts wherever librdkafka decides (position unknown until read).
  std::map<topic_partition, int64_t> resolve_starts(const rd_kafka_topic_partition_list_t* parts) {
    std::map<topic_partition, int64_t> starts;
    rd_kafka_topic_partition_list_t* query = rd_kafka_topic_partition_list_copy(parts);
    auto err = rd_kafka_committed(rk_, query, metadata_timeout_ms);
    if (err) {
      context_.diag->note(std::string("committed offsets on assignment: ") + rd_kafka_err2str(err));
    } else {
      for (int i = 0; i < query->cnt; ++i) {
        const auto& e = query->elems[i];
        topic_partition tp{e.topic, e.partition};
        if (e.err)
          continue;
        if (e.offset >= 0) {
          starts[tp] = e.offset;
          continue;
        }
        auto marks = fetch_watermarks(rk_, tp, *context_.diag);
        if (marks)
          starts[tp] = reset_ == offset_reset::earliest ? marks->low : marks->high;
      }
    }
    rd_kafka_topic_partition_list_destroy(query);
    return starts;
  }

  void call_listener(const std::vector<topic_partition>& revoked,
                     const std::vector<topic_partition>& assigned) {
    if (!listener_)
      return;
    // An exception must not unwind through librdkafka's C frames; poll() reports it.
    try {
      listener_(revoked, assigned);
    } catch (const std::exception& e) {
      listener_error_ = fail(std::string("kafka: rebalance listener failed: ") + e.what());
    } catch (...) {
      listener_error_ = fail("kafka: rebalance listener failed: unknown exception");
    }
  }

  // Turns one message into a record, an error, or nothing (EOF, stale, paused).
  void take(rd_kafka_message_t* m, std::vector<record>& out, std::optional<failure>& error) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->rkt) {
      // Everything up to m->offset (the high watermark, or for read_committed the last stable
      // offset) is read: past any transaction markers and aborted records at the end.
      topic_partition tp{rd_kafka_topic_name(m->rkt), m->partition};
      std::lock_guard<std::mutex> lk(mu_);
      auto pos = positions_.find(tp);
      if (owned_.count(tp) && pos != positions_.end() && m->offset > pos->second)
        pos->second = m->offset;
    }
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::string where = m->rkt ? " on " + std::string(rd_kafka_topic_name(m->rkt)) + "/"
                                       + std::to_string(m->partition)
                                   : std::string();
        error = fail("kafka: consumer of group '" + group_ + "'" + where + ": "
                     + rd_kafka_err2name(m->err) + ": " + rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      return;
    }
    topic_partition tp{rd_kafka_topic_name(m->rkt), m->partition};
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!owned_.count(tp)) {
        rd_kafka_message_destroy(m);
        return;
      }
      if (paused_.count(tp)) {
        // Fetched before the pause took effect; read it again after resume().
        refetch_.insert(tp);
        rd_kafka_message_destroy(m);
        return;
      }
      auto pos = positions_.find(tp);
      if (pos != positions_.end() && m->offset < pos->second) {
        rd_kafka_message_destroy(m); // older than a position set by seek
        return;
      }
      positions_[tp] = m->offset + 1;
    }
    record r;
    r.topic = tp.topic;
    r.partition = tp.partition;
    r.offset = m->offset;
    if (m->key)
      r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload)
      r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(m, &type);
    r.timestamp_ms = ts < 0 ? 0 : ts;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      const char* name = nullptr;
      const void* val = nullptr;
      size_t size = 0;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        r.headers.emplace_back(name, val ? std::string(static_cast<const char*>(val), size) : "");
    }
    rd_kafka_message_destroy(m);
    out.push_back(std::move(r));
  }

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

  // Leaving the group: make sure the latest (possibly asynchronous) commits are on the broker.
  void commit_last_synchronously() {
    partition_list parts;
    {
      std::lock_guard<std::mutex> lk(mu_);
      pending_commits_.clear(); // the latest of each is in last_commit_
      for (auto& [tp, off] : last_commit_)
        if (owned_.count(tp))
          parts.add(tp, off);
    }
    if (parts.list->cnt == 0)
      return;
    if (auto err = rd_kafka_commit(rk_, parts.list, 0))
      context_.diag->note(std::string("final commit before leaving the group: ")
                          + rd_kafka_err2str(err));
  }
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

// ---- log --------------------------------------------------------------------------------

class kafka_log final : public log {
 public:
  explicit kafka_log(kafka_options options)
      : options_(std::move(options)), features_(features_for(options_.broker_version_fallback)) {
    context_.diag = std::make_shared<diagnostics>();
    context_.log = this;
  }

  ~kafka_log() override {
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

  outcome<void> start() {
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

  outcome<std::shared_ptr<log>> open_transactional(const std::string& transactional_id) override {
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

  bool transactional() const override { return !options_.transactional_id.empty(); }

  uint64_t uncommitted() const override { return uncommitted_.load(); }

  bool fenced() const override { return fenced_.load(); }

  outcome<void> commit_transaction(
    const std::vector<std::pair<topic_partition, int64_t>>& offsets) override {
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

  outcome<void> abort_transaction() override {
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

  void produce(const std::string& topic, const std::string& key, std::string value,
               delivery_callback on_delivery) override {
    produce_with_headers(topic, key, std::move(value), {}, std::move(on_delivery));
  }

  void produce_with_headers(const std::string& topic, const std::string& key, std::string value,
                            const record_headers& headers,
                            delivery_callback on_delivery) override {
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

  void serve(std::chrono::milliseconds timeout) override {
    rd_kafka_poll(producer_, static_cast<int>(timeout.count()));
  }

  outcome<void> flush(std::chrono::milliseconds timeout) override {
    auto err = rd_kafka_flush(producer_, static_cast<int>(timeout.count()));
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT)
      return fail("kafka: " + std::to_string(rd_kafka_outq_len(producer_))
                  + " records still undelivered after " + std::to_string(timeout.count())
                  + " ms" + context_.diag->suffix());
    if (err)
      return fail(std::string("kafka: flush failed: ") + rd_kafka_err2str(err));
    return {};
  }

  outcome<int32_t> partition_count(const std::string& topic) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = partition_counts_.find(topic);
      if (it != partition_counts_.end())
        return it->second;
    }
    if (auto ok = check_topic_name(topic); !ok)
      return fail(ok.error());
    std::lock_guard<std::mutex> lookup(lookup_mu_); // one metadata walk at a time
    auto count = discover_topic(topic);
    if (count) {
      std::lock_guard<std::mutex> lk(mu_);
      partition_counts_[topic] = *count;
    }
    return count;
  }

  outcome<watermarks> query_watermarks(const topic_partition& tp) override {
    auto count = partition_count(tp.topic);
    if (!count)
      return std::move(count).take_failure();
    if (tp.partition < 0 || tp.partition >= *count)
      return fail("kafka: topic '" + tp.topic + "' has no partition "
                  + std::to_string(tp.partition) + " (it has " + std::to_string(*count) + ")");
    return fetch_watermarks(producer_, tp, *context_.diag);
  }

  outcome<std::optional<int64_t>> committed(const std::string& group,
                                            const topic_partition& tp) override {
    if (group.empty())
      return fail("kafka: committed offsets need a consumer group id");
    std::lock_guard<std::mutex> lk(groups_mu_);
    auto handle = group_handle_locked(group);
    if (!handle)
      return std::move(handle).take_failure();
    rd_kafka_poll(*handle, 0); // drain its (otherwise unserved) error events
    partition_list parts;
    auto* p = parts.add(tp, RD_KAFKA_OFFSET_INVALID);
    auto err = rd_kafka_committed(*handle, parts.list, metadata_timeout_ms);
    if (!err)
      err = p->err;
    if (err)
      return fail("kafka: committed offset of group '" + group + "' for " + tp_text(tp) + ": "
                  + rd_kafka_err2str(err) + context_.diag->suffix());
    if (p->offset < 0) // RD_KAFKA_OFFSET_INVALID: never committed
      return std::optional<int64_t>{};
    return std::optional<int64_t>{p->offset};
  }

  outcome<std::unique_ptr<consumer>> subscribe(const std::string& group,
                                               const std::vector<std::string>& topics,
                                               offset_reset reset) override {
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
  assign(const std::vector<std::pair<topic_partition, int64_t>>& start) override {
    std::set<topic_partition> seen;
    for (const auto& [tp, offset] : start) {
      auto marks = query_watermarks(tp);
      if (!marks)
        return std::move(marks).take_failure();
      if (offset < marks->low || offset > marks->high)
        return fail("kafka: cannot start " + tp_text(tp) + " at " + std::to_string(offset)
                    + ": valid offsets are " + std::to_string(marks->low) + ".."
                    + std::to_string(marks->high));
      if (!seen.insert(tp).second)
        return fail("kafka: " + tp_text(tp) + " is assigned twice");
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

  std::string describe() const override { return "kafka:" + options_.brokers; }
  std::string last_error() const override { return context_.diag ? context_.diag->last() : ""; }

 private:
  // Opens the next transaction (txn_mu_ held, or during start()).
  outcome<void> begin() {
    if (rd_kafka_error_t* e = rd_kafka_begin_transaction(producer_)) {
      std::string text = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      return fail("kafka: cannot begin a transaction as " + options_.transactional_id + ": "
                  + text);
    }
    txn_open_ = true;
    return {};
  }

  // Runs one transactional call: again while librdkafka says the call may be retried (a
  // coordinator moving or loading, a broker briefly away); when it says the transaction must
  // be aborted, aborts it and fails; fails on a fatal error (this id was fenced by a newer
  // handle).
  template <class Call>
  outcome<void> txn_call(const char* what, Call call) {
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

  static void on_delivery_report(rd_kafka_t* rk, const rd_kafka_message_t* m, void*) {
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
               : outcome<position>(position{m->partition, m->offset >= 0 ? m->offset : -1});
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

  // pending: the topic exists but some partitions have no leader yet (being created).
  enum class lookup_state { found, pending, missing, failed };

  // One metadata request for `topic`. `error` names the partitions without a leader (pending)
  // or the failure.
  lookup_state lookup_topic(const std::string& topic, int32_t& partitions, std::string& error) {
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

  outcome<void> create_topic(const std::string& topic) {
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
  outcome<int32_t> discover_topic(const std::string& topic) {
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

  outcome<rd_kafka_t*> group_handle_locked(const std::string& group) {
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

} // namespace

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
