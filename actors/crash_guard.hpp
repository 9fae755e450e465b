// The crash-loop guard's files and gate (README "Crash-loop guard"); the decisions are in
// core/crash_guard.hpp.
//
// One crash_guard per node, in DATA_DIR/crash-guard/: per consumer group a note file (what the
// group's bridge has in flight, rewritten with one pwrite() per poll batch: a kill -9 cannot
// lose it, an OS crash may) and a strike file (rewritten only after a crash, through a rename).
// At open it turns the notes a dead run left into strikes. While a hosted group still has
// suspects to handle (the quarantine), its gate makes each suspect the only record in flight in
// the whole process: other bridges hand out nothing while it is out, so a crash then blames it
// alone.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/log.hpp"
#include "core/crash_guard.hpp"

namespace eventide {

class group_crash_guard;

class crash_guard : public std::enable_shared_from_this<crash_guard> {
 public:
  /// Opens (creates) `dir`, turns every note a dead run left into strikes and loads the strikes
  /// of `groups` (full consumer group names: the groups this node hosts). `limit` >= 1.
  static outcome<std::shared_ptr<crash_guard>> open(const std::string& dir, uint32_t limit,
                                                    const std::vector<std::string>& groups);
  ~crash_guard();

  uint32_t limit() const { return limit_; }
  /// Whether some hosted group still has suspects to handle (or has not seen its assignment).
  bool quarantine() const { return pending_groups_.load(std::memory_order_acquire) > 0; }

  /// The guard of one group for its bridge, once; null for a group not given to open().
  std::shared_ptr<group_crash_guard> take(const std::string& group);
  /// Groups given to open() but never taken (a role that did not start) leave the quarantine.
  void drop_untaken();
  /// Waits until every taken group guard is closed (its note cleared, its file closed).
  bool wait_released(std::chrono::milliseconds timeout);

  // The quarantine gate. "Shared": records handed out in batches, many at a time. "Alone": one
  // suspect, with nothing else in flight in the process. Groups waiting to be alone are served
  // in order, and no batch is handed out while one waits.
  bool try_shared(size_t n);
  void done_shared(size_t n);
  bool try_alone(const std::string& group);
  void done_alone(const std::string& group);
  void withdraw(const std::string& group); // no longer waiting to be alone

 private:
  friend class group_crash_guard;
  crash_guard() = default;
  void group_done(bool handled);
  void released();

  std::string dir_;
  uint32_t limit_ = 3;
  uint64_t run_ = 0;
  std::atomic<int> pending_groups_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  size_t shared_ = 0;
  std::optional<std::string> alone_;
  std::deque<std::string> waiting_;
  size_t open_groups_ = 0;
  struct loaded {
    int fd = -1;
    std::string strikes_path;
    core::strike_table strikes;
  };
  std::map<std::string, loaded> untaken_;
};

/// One consumer group's part of the guard. Used only from that group's bridge thread.
class group_crash_guard {
 public:
  ~group_crash_guard();
  group_crash_guard(const group_crash_guard&) = delete;
  group_crash_guard& operator=(const group_crash_guard&) = delete;

  const std::string& group() const { return group_; }
  crash_guard& node() { return *guard_; }
  bool quarantine() const { return guard_->quarantine(); }
  uint32_t limit() const { return guard_->limit(); }

  /// Whether any record of this group has strikes (the bridge judges records only then).
  bool has_strikes() const { return !strikes_.empty(); }
  uint32_t strikes_of(const storage::record& rec) const;
  /// Whether this group already wrote the dead letter for the record (a replay passes over it).
  bool dead_lettered(const storage::record& rec) const;
  core::crash_verdict judge(const storage::record& rec) const;
  /// Whether acknowledgements matter to the guard: strikes to forgive or suspects pending.
  bool watching() const { return !strikes_.empty() || !reported_done_; }

  /// Durably notes what the bridge has in flight, before it hands anything out. A failure is
  /// returned for the bridge to report; processing goes on (the guard is a safety net).
  outcome<void> note(const core::crash_note& note);
  outcome<void> note_alone(const storage::record& rec);
  /// The same, built in place (no allocation per batch): start_note(), add what is in
  /// flight, finish_note().
  core::note_writer& start_note();
  outcome<void> finish_note();
  /// Nothing in flight any more (idle, a clean stop): a kill now blames nobody.
  outcome<void> clear_note();

  /// Assignment changes, from the bridge's rebalance listener. `start` is where reading the
  /// partition starts (strikes below it are dropped), `high` its high watermark (asked only
  /// when the partition has strikes).
  void assigned(const storage::topic_partition& tp, std::optional<int64_t> start,
                const std::function<std::optional<int64_t>()>& high);
  void revoked(const storage::topic_partition& tp);
  void assignment_seen();
  /// The record was acknowledged: handled without a crash, or dead-lettered.
  void passed(const storage::topic_partition& tp, int64_t offset);

  /// Clears the note (a clean stop), leaves the quarantine and the gate, closes the file.
  void close();

  /// "strikes=N suspects=M" for health.
  size_t strike_count() const { return strikes_.size(); }
  size_t suspects_pending() const { return tracker_.pending(); }

 private:
  friend class crash_guard;
  group_crash_guard(std::shared_ptr<crash_guard> guard, std::string group, int fd,
                    std::string strikes_path, core::strike_table strikes);
  outcome<void> write_note(const std::string& bytes);
  void store_strikes();
  void check_done();

  std::shared_ptr<crash_guard> guard_;
  std::string group_;
  int fd_ = -1;
  std::string strikes_path_;
  core::strike_table strikes_;
  core::suspect_tracker tracker_;
  core::note_writer writer_;
  bool reported_done_ = true;
  bool noted_ = false;
  bool closed_ = false;
};

} // namespace eventide
