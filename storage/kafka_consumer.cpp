// The Kafka log's consumer (kafka_consumer.hpp): subscribe()'s group member or assign()'s
// fixed partitions on one librdkafka consumer handle; positions, pause/resume, seeks and
// commits (one asynchronous OffsetCommit in flight at a time).
//
// Rebalances are eager (roundrobin assignor; Kafka 0.9 knows no other kind): a member first has
// all its partitions revoked, then gets its new set. On assignment this backend resolves each
// partition's start (committed offset, else the reset watermark) before calling the listener, so
// position_of() is known right away and a seek from the listener simply replaces the start that
// rd_kafka_assign() then uses.
#include "storage/kafka_consumer.hpp"

#include <algorithm>

namespace eventide::storage {

namespace {

std::vector<topic_partition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<topic_partition> out;
  for (int i = 0; list && i < list->cnt; ++i)
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

} // namespace

kafka_consumer::kafka_consumer(std::shared_ptr<diagnostics> diag, std::string group,
                               bool commits, offset_reset reset)
    : group_(std::move(group)), commits_(commits), reset_(reset) {
  context_.diag = std::move(diag);
}

kafka_consumer::~kafka_consumer() {
  close();
  if (queue_)
    rd_kafka_queue_destroy(queue_);
  if (rk_)
    rd_kafka_destroy(rk_);
}

// For a transactional handle's consumer: publishes the handle while it is open.
void kafka_consumer::link(std::shared_ptr<group_link> l) {
  link_ = std::move(l);
  std::lock_guard<std::mutex> lk(link_->mu);
  link_->rk = rk_;
}

// Takes ownership of the handle and routes all its events to the consumer queue, so poll()
// serves rebalances and errors and wakeup() can interrupt it.
void kafka_consumer::attach(rd_kafka_t* rk) {
  rk_ = rk;
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);
}

// For assign(): the partitions and where to start.
outcome<void> kafka_consumer::start_assigned(
  const std::vector<std::pair<topic_partition, log_offset>>& start) {
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

outcome<void> kafka_consumer::start_subscription(const std::vector<std::string>& topics) {
  partition_list parts(static_cast<int>(topics.size()));
  for (const auto& t : topics)
    parts.add({t, RD_KAFKA_PARTITION_UA}, RD_KAFKA_OFFSET_INVALID);
  if (auto err = rd_kafka_subscribe(rk_, parts.list))
    return fail("kafka: subscribe of group '" + group_ + "' failed: " + rd_kafka_err2str(err));
  return {};
}

outcome<std::vector<record>> kafka_consumer::poll(size_t max_records,
                                                  std::chrono::milliseconds timeout) {
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

outcome<void> kafka_consumer::commit(const topic_partition& tp, log_offset next_offset) {
  return commit_impl(tp, next_offset, false);
}

outcome<void> kafka_consumer::commit_async(const topic_partition& tp, log_offset next_offset) {
  return commit_impl(tp, next_offset, true);
}

outcome<void> kafka_consumer::commit_impl(const topic_partition& tp, int64_t next_offset,
                                          bool may_defer) {
  if (!commits_)
    return {}; // assign() consumers have no group to commit for
  if (closed_)
    return fail("kafka: commit on a closed consumer");
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!owned_.count(tp) && !releasing_.count(tp))
      return fail("kafka: cannot commit " + to_string(tp) + " for group '" + group_
                  + "': the partition is not assigned to this member");
  }
  if (next_offset < 0)
    return fail("kafka: cannot commit negative offset " + std::to_string(next_offset) + " for "
                + to_string(tp));
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
    return fail("kafka: commit " + to_string(tp) + "=" + std::to_string(next_offset)
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
outcome<void> kafka_consumer::send_pending_commits_locked() {
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

void kafka_consumer::on_commit_done(rd_kafka_t*, rd_kafka_resp_err_t err,
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

outcome<std::optional<log_offset>> kafka_consumer::committed(const topic_partition& tp) {
  if (!commits_)
    return fail("kafka: committed offsets need a consumer group id");
  if (closed_)
    return fail("kafka: committed() on a closed consumer");
  return fetch_committed(rk_, group_, tp, *context_.diag);
}

outcome<void> kafka_consumer::seek(const topic_partition& tp, log_offset offset) {
  bool during_assign = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!owned_.count(tp))
      return fail("kafka: cannot seek " + to_string(tp)
                  + ": the partition is not assigned to this consumer");
    during_assign = assigning_;
  }
  auto marks = fetch_watermarks(rk_, tp, *context_.diag);
  if (!marks)
    return std::move(marks).take_failure();
  if (offset < marks->low || offset > marks->high)
    return fail("kafka: cannot seek " + to_string(tp) + " to " + std::to_string(offset)
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
      return fail("kafka: seek " + to_string(tp) + " to " + std::to_string(offset) + ": " + text);
    }
    if (p->err)
      return fail("kafka: seek " + to_string(tp) + " to " + std::to_string(offset) + ": "
                  + rd_kafka_err2str(p->err));
  } // else rd_kafka_assign() starts there once the listener returns
  std::lock_guard<std::mutex> lk(mu_);
  positions_[tp] = offset;
  refetch_.erase(tp); // the seek already restarts fetching
  return {};
}

std::optional<log_offset> kafka_consumer::position_of(const topic_partition& tp) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = positions_.find(tp);
  if (it == positions_.end())
    return std::nullopt;
  return log_offset{it->second};
}

std::vector<topic_partition> kafka_consumer::assignment() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {owned_.begin(), owned_.end()};
}

void kafka_consumer::pause(const topic_partition& tp) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!owned_.count(tp) || !paused_.insert(tp).second)
      return;
  }
  partition_list parts;
  parts.add(tp, RD_KAFKA_OFFSET_INVALID);
  rd_kafka_pause_partitions(rk_, parts.list);
}

void kafka_consumer::resume(const topic_partition& tp) {
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
      context_.diag->note("re-seek after resume of " + to_string(tp) + ": "
                          + rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    }
  }
}

void kafka_consumer::set_rebalance_listener(rebalance_listener listener) {
  listener_ = std::move(listener);
}

void kafka_consumer::wakeup() {
  if (queue_)
    rd_kafka_queue_yield(queue_);
}

void kafka_consumer::close() {
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
void kafka_consumer::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
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

void kafka_consumer::handle_assign(rd_kafka_topic_partition_list_t* parts) {
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

void kafka_consumer::handle_revoke(rd_kafka_topic_partition_list_t* parts) {
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
std::map<topic_partition, int64_t>
kafka_consumer::resolve_starts(const rd_kafka_topic_partition_list_t* parts) {
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

void kafka_consumer::call_listener(const std::vector<topic_partition>& revoked,
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
void kafka_consumer::take(rd_kafka_message_t* m, std::vector<record>& out,
                          std::optional<failure>& error) {
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
  r.offset = log_offset{m->offset};
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

// Leaving the group: make sure the latest (possibly asynchronous) commits are on the broker.
void kafka_consumer::commit_last_synchronously() {
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

} // namespace eventide::storage
