// Internal to storage/: the embedded log's shared state (log_core: the RocksDB database and
// the in-memory index) and its consumer. log_core's storage side is defined in embedded_log.cpp,
// its group side and the consumer in embedded_consumer.cpp.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "storage/embedded_log.hpp"

namespace eventide::storage {

// Encoding helpers the consumer shares with embedded_log.cpp (defined there).
void put_be64(std::string& out, uint64_t v);
std::string commit_key(const std::string& group, const topic_partition& tp);

// One consumer's view; guarded by log_core::mu.
struct member_state {
  std::string group; // empty for assign() consumers
  std::vector<std::string> topics;
  offset_reset reset = offset_reset::earliest;
  std::set<topic_partition> target;    // what the group wants this member to own
  bool pending = false;                // target differs from owned; apply at the next poll
  std::set<topic_partition> owned;     // what poll() reads
  std::set<topic_partition> releasing; // revoked, listener not yet done (commits still allowed)
  std::map<topic_partition, int64_t> positions;
  std::set<topic_partition> paused;
  bool wakeup = false;
  bool closed = false;
  size_t cursor = 0; // rotates the first partition served, for fairness
  std::condition_variable changed; // waited on by this consumer's poll()
  std::function<void()> notify;    // consumer::set_notify(): called with `changed`

  void signal() {
    changed.notify_one();
    if (notify)
      notify();
  }
};

struct group_state {
  std::vector<member_state*> members; // join order
  // Which member holds each partition; a partition is handed over only once its previous
  // holder has run its revocation listener, so the next member starts from a fresh commit.
  std::map<topic_partition, member_state*> owner;
};

struct topic_state {
  int32_t partitions = 0;
  std::vector<int64_t> next_offset; // per partition: the high watermark
  // Per partition, the records appended last (at most recent_records, the newest at the back):
  // a live consumer mostly reads what was just appended, and taking it from here saves a
  // RocksDB iterator and seek per poll.
  std::vector<std::deque<record>> recent;
  static constexpr size_t recent_records = 64;

  void resize(int32_t n) {
    partitions = n;
    next_offset.assign(static_cast<size_t>(n), 0);
    recent.assign(static_cast<size_t>(n), {});
  }
};

struct fetch {
  topic_partition tp;
  int64_t start = 0;
  int64_t count = 0;
};

class log_core {
 public:
  std::string dir;
  embedded_options options;
  rocksdb::WriteOptions write_options;
  std::unique_ptr<rocksdb::DB> db;

  std::mutex mu;
  std::vector<member_state*> members; // every open consumer, group or assigned
  std::map<std::string, topic_state> topics;
  std::map<std::pair<std::string, topic_partition>, int64_t> commits;
  std::map<std::string, group_state> groups;

  outcome<void> load();
  outcome<topic_state*> ensure_topic_locked(const std::string& topic);
  outcome<int64_t> high_locked(const topic_partition& tp) const;
  int64_t high_or_zero_locked(const topic_partition& tp) const;
  std::optional<int64_t> committed_locked(const std::string& group,
                                          const topic_partition& tp) const;
  void rebalance_locked(group_state& group);
  void notify_all_locked();
  void notify_readers_locked(const topic_partition& tp);
  bool rebalance_ready_locked(const member_state& m) const;
  void take_rebalance_locked(member_state& m, std::vector<topic_partition>& revoked,
                             std::vector<topic_partition>& granted);
  void finish_release_locked(member_state& m);
  void leave_group_locked(member_state& m);
  bool has_data_locked(const member_state& m) const;
  std::vector<fetch> plan_fetch_locked(member_state& m, size_t max) const;
  // Serves the fetches of `plan` that topic_state::recent holds into `out` and removes them.
  void read_recent_locked(std::vector<fetch>& plan, std::vector<record>& out) const;
  outcome<std::vector<record>> read(const std::vector<fetch>& plan);
  outcome<position> append(const std::string& topic, const std::string& key,
                           const std::string& value);
};

class embedded_consumer final : public consumer {
 public:
  embedded_consumer(std::shared_ptr<log_core> core) : core_(std::move(core)) {}
  ~embedded_consumer() override { close(); }

  member_state& state() { return state_; }

  outcome<std::vector<record>> poll(size_t max_records,
                                    std::chrono::milliseconds timeout) override;
  outcome<void> commit(const topic_partition& tp, log_offset next_offset) override;
  outcome<std::optional<log_offset>> committed(const topic_partition& tp) override;
  outcome<void> seek(const topic_partition& tp, log_offset offset) override;
  std::optional<log_offset> position_of(const topic_partition& tp) const override;
  std::vector<topic_partition> assignment() const override;
  void pause(const topic_partition& tp) override;
  void resume(const topic_partition& tp) override;
  void set_rebalance_listener(rebalance_listener listener) override;
  void wakeup() override;
  bool set_notify(std::function<void()> notify) override;
  void close() override;

 private:
  std::shared_ptr<log_core> core_; // keeps the database open while this consumer lives
  member_state state_;             // guarded by core_->mu
  rebalance_listener listener_;    // used only by the polling thread
};

} // namespace eventide::storage
