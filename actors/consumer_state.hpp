// The consumer bridge's state and the functions its files share (internal to actors/: the
// bridge itself is in consumer_bridge.cpp, its commits, transactions and rewinds in
// consumer_commit.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/bridges.hpp"
#include "actors/crash_guard.hpp"
#include "storage/dead_letter.hpp"

namespace eventide::consumer_internal {

struct partition_track {
  std::set<int64_t> in_flight; // offsets handed out and not yet acknowledged
  int64_t polled_upto = -1;    // next offset after the last polled record
  int64_t committed = -1;
  int64_t handled_before = -1; // committed at assignment: a replay below it was handled already
};

struct consumer_state;
/// Commits, per partition, what was handled (consumer_commit.cpp). `wait`: confirmed before it
/// returns.
void commit_handled(consumer_state& st, bool wait = false);

struct consumer_state {
  consumer_bridge_config cfg;
  std::unique_ptr<storage::consumer> consumer;
  role_actor role;
  producer_actor producer;
  std::map<storage::topic_partition, partition_track> tracks;
  std::map<storage::topic_partition, int64_t> restore_targets; // high watermark at assignment
  // What this group dead-lettered, read from the dead-letter topic when a replay below the
  // committed offset begins: the other records there were validated when first handled and
  // are read without validating them again. Unset: not known, and a replay validates.
  std::optional<storage::offsets_by_partition> letters;
  size_t in_flight = 0;
  bool polling = false;
  // Driven by the log's notifications (consumer::set_notify): polls never wait, and the bridge
  // sleeps in its mailbox until the log has something new. `notified` coalesces them: the log
  // sends one message until the bridge takes it.
  bool driven = false;
  bool keepalive = false; // a driven bridge's once-a-second poll is scheduled
  std::shared_ptr<std::atomic<bool>> notified = std::make_shared<std::atomic<bool>>(false);
  bool live = false;
  bool going_live = false;     // the role was told to go live and has not answered yet
  bool rewind_needed = false;  // exactly-once: a transaction was aborted (rewind())
  bool rewinding = false;      // inside rewind(): the role's store is not to be trusted
  bool commit_pending = false; // acknowledgements not yet committed
  int64_t last_txn_ms = 0;     // exactly-once: when the last transaction was committed
  int64_t last_commit_ms = 0;  // without transactions: when offsets were last committed
  bool commit_timer = false;   // a tick_atom will commit what is still pending
  uint64_t handled = 0, dead_lettered = 0, skipped = 0, transactions = 0, aborted = 0;
  std::string last_error; // "<time ms> <what>" of the last poll/commit/handling failure
  // Crash-loop guard (null: off). During a quarantine records wait in `held` for their turn at
  // the node's gate; `alone` is the suspect out alone, `gated` what went out in a batch.
  std::shared_ptr<group_crash_guard> guard;
  std::deque<storage::record> held;
  std::optional<std::pair<storage::topic_partition, int64_t>> alone;
  std::set<std::pair<storage::topic_partition, int64_t>> gated;
  static inline constexpr const char* name = "consumer-bridge";

  ~consumer_state() {
    if (consumer) {
      commit_handled(*this, true); // a clean stop commits what was handled
      if (cfg.log->transactional() && in_flight > 0)
        (void) cfg.log->abort_transaction(); // part of a record's output is no output
      consumer->close();
    }
    if (guard)
      guard->close(); // a clean stop: nothing in flight is to blame
  }
};

using consumer_ptr = caf::stateful_actor<consumer_state>*;

/// Sends the bridge its next poll cycle unless one is scheduled.
void schedule_poll(consumer_ptr self);

/// Commits what was handled; what the commit interval holds back goes with a timer.
void commit_due(consumer_ptr self);

/// Exactly-once polls only when nothing is in flight (consumer_commit.cpp has why).
bool may_poll(const consumer_state& st);

/// Exactly-once: the record's outputs did not reach the log; the bridge will rewind.
void lost_output(consumer_ptr self, const storage::topic_partition& tp, int64_t offset);

/// Whether `err` says the log did not take a record (ec::produce_failed).
bool is_produce_failure(const caf::error& err);

/// After an aborted transaction: the role reads its partitions again from the committed offsets.
void rewind(consumer_ptr self);

/// The group's assignment changed (also called by rewind()).
void on_rebalance(consumer_ptr self, const std::vector<storage::topic_partition>& revoked,
                  const std::vector<storage::topic_partition>& assigned);

} // namespace eventide::consumer_internal
