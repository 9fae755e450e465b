// The consumer bridge's commits (actors/consumer_state.hpp): offsets of what the role
// acknowledged, in Kafka transactions with exactly-once together with the role's outputs, and
// the rewind after a transaction the broker aborted.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "actors/consumer_state.hpp"
#include "actors/crash_point.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"

namespace eventide::consumer_internal {

// Exactly-once mode commits a transaction only when no record is in flight: a record half
// way through its outputs would otherwise have part of them committed without its offset, and
// a crash then would write that part twice. So it polls (where rebalances happen, too) only
// when everything handed out is acknowledged: poll, hand out, wait, commit, poll again.
bool may_poll(const consumer_state& st) {
  return !st.cfg.log->transactional() || (st.in_flight == 0 && !st.going_live);
}

namespace {

// A transaction that could not be committed. Fenced (a newer instance with this transactional
// id runs): this one must stop writing at once. Aborted (the broker away longer than the group
// session, which drops the member): the role's state is ahead of the log, so the bridge rewinds
// (rewind()) before it polls again.
void transaction_failed(consumer_state& st, const std::string& why) {
  if (st.cfg.log->fenced()) {
    EV_LOG(error) << "exactly-once: " << why << "; group=" << st.cfg.group << "; stopping the node";
    std::fprintf(stderr, "eventide: %s (group %s); the node stops\n", why.c_str(),
                 st.cfg.group.c_str());
    std::fflush(nullptr);
    std::_Exit(70);
  }
  EV_LOG(warning) << "exactly-once: " << why << "; group=" << st.cfg.group
                  << "; the role forgets its partitions and reads them again from the committed"
                     " offsets";
  st.last_error = std::to_string(now_ms()) + " transaction: " + why;
  ++st.aborted;
  st.rewind_needed = true;
  st.commit_pending = false;
}

// Commits the offsets of everything acknowledged, with the outputs produced since the last
// commit, in one transaction; only when nothing is in flight. Offsets alone (a replay, records
// passed over as another tool's, transaction markers read past) wait up to a second to go
// with the next one: reading a few of them again after a crash costs nothing, a transaction
// per poll batch would. `force`: now (a hand-over, a clean stop).
void commit_transaction(consumer_state& st, bool force) {
  if (st.in_flight > 0 || st.going_live || st.rewind_needed)
    return;
  std::vector<std::pair<storage::topic_partition, log_offset>> offsets;
  for (auto& [tp, t] : st.tracks) {
    auto next = t.polled_upto;
    // Past the markers and aborted records after the last record (the end reported by poll),
    // unless records read are still held back by the crash guard's gate.
    if (st.held.empty())
      if (auto pos = st.consumer->position_of(tp); pos && *pos > next)
        next = *pos;
    if (next > t.committed)
      offsets.emplace_back(tp, next);
  }
  const bool produced = st.cfg.log->uncommitted() > 0;
  if (!produced && offsets.empty())
    return;
  if (!produced && !force && now_ms() - st.last_txn_ms < 1000)
    return;
  if (produced)
    crash_point(core::crash_site::before_commit, st.cfg.group.c_str());
  if (auto r = st.cfg.log->commit_transaction(offsets); !r) {
    transaction_failed(st, r.error());
    return;
  }
  st.commit_pending = false;
  st.last_txn_ms = now_ms();
  ++st.transactions;
  for (auto& [tp, next] : offsets)
    st.tracks[tp].committed = next;
}

} // namespace

// Commits, per partition, the lowest offset that still has an unacknowledged record (or all
// that was polled). `wait`: confirmed before it returns (during a quarantine, where the next
// suspect may crash the node, what passed must not be handed out again).
void commit_handled(consumer_state& st, bool wait) {
  if (st.cfg.log->transactional()) {
    commit_transaction(st, wait);
    return;
  }
  if (!st.commit_pending)
    return;
  if (!wait && now_ms() - st.last_commit_ms < st.cfg.commit_interval_ms)
    return; // commit_due() sets a timer
  st.commit_pending = false;
  st.last_commit_ms = now_ms();
  for (auto& [tp, t] : st.tracks) {
    auto next = log_offset{t.in_flight.empty() ? t.polled_upto : *t.in_flight.begin()};
    if (next <= t.committed)
      continue;
    if (auto r = wait ? st.consumer->commit(tp, next) : st.consumer->commit_async(tp, next); !r) {
      st.last_error = std::to_string(now_ms()) + " commit: " + r.error();
      EV_LOG(error) << "commit failed group=" << st.cfg.group << " topic=" << tp.topic
                    << " partition=" << tp.partition << " offset=" << next << ": " << r.error();
    }
    else
      t.committed = next;
  }
}

// Exactly-once: a record whose outputs (or dead letter) the log did not take. The open
// transaction is in error (librdkafka refuses further records until it is aborted), and part
// of the record's outputs may be in it: the record leaves the records in flight unacknowledged,
// and once none is left the bridge aborts and rewinds (rewind()).
void lost_output(consumer_ptr self, const storage::topic_partition& tp, int64_t offset) {
  auto& st = self->state;
  st.rewind_needed = true;
  auto it = st.tracks.find(tp);
  if (it != st.tracks.end() && it->second.in_flight.erase(offset) > 0)
    --st.in_flight;
  if (st.in_flight == 0)
    schedule_poll(self);
}

void commit_due(consumer_ptr self) {
  auto& st = self->state;
  commit_handled(st);
  if (st.commit_pending && !st.commit_timer && !st.cfg.log->transactional()) {
    st.commit_timer = true;
    self->delayed_send(self, std::chrono::milliseconds(st.cfg.commit_interval_ms),
                       tick_atom::value);
  }
}

bool is_produce_failure(const caf::error& err) {
  return err.category() == caf::atom("eventide")
         && err.code() == static_cast<uint8_t>(ec::produce_failed);
}

// After an aborted transaction: the role forgets every partition it holds and reads them
// again from the group's committed offsets (restore roles replay), as if a rebalance had taken
// them away and given them back. Nothing it did since the last commit is in the log.
void rewind(consumer_ptr self) {
  auto& st = self->state;
  if (auto r = st.cfg.log->abort_transaction(); !r && st.cfg.log->fenced())
    transaction_failed(st, r.error()); // stops the node
  auto owned = st.consumer->assignment();
  on_rebalance(self, owned, {});
  st.rewind_needed = false;
  st.rewinding = true;
  on_rebalance(self, {}, owned);
  st.rewinding = false;
  if (st.cfg.restore)
    return; // (on_rebalance sought to where the replay starts)
  for (auto& tp : owned) {
    int64_t from = st.tracks[tp].committed;
    if (from < 0) {
      auto wm = st.cfg.log->query_watermarks(tp);
      from = wm ? (st.cfg.reset == storage::offset_reset::earliest ? wm->low : wm->high) : 0;
    }
    if (auto r = st.consumer->seek(tp, log_offset{from}); !r)
      EV_LOG(error) << "rewind: seek failed group=" << st.cfg.group << " topic=" << tp.topic
                    << " partition=" << tp.partition << ": " << r.error();
  }
}

} // namespace eventide::consumer_internal
