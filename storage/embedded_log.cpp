// The embedded log on one RocksDB database. Key layout (big-endian numbers so RocksDB's
// bytewise order is offset order):
//   "t/<topic>"                                  -> partition count (BE32)
//   "r/<topic>/<partition BE32><offset BE64>"    -> timestamp BE64, key length BE32, key, value
//   "c/<group length BE32><group><topic>/<partition BE32>" -> committed next offset (BE64)
// Topic names follow Kafka's rule ([a-zA-Z0-9._-]), so '/' safely ends a topic name; group ids
// may be any bytes, hence the length prefix.
//
// Concurrency: one mutex guards the in-memory index (topics, next offsets, commits, groups,
// every consumer's assignment and positions). Each consumer waits on its own condition
// variable: an append wakes only the consumers that own the partition written to (one shared
// variable woke every consumer thread of the process on every record, a thundering herd that
// cost more than the write itself on two cores). Appends are written while holding the mutex
// so offsets become visible in order; reads use RocksDB iterators without it.
#include "storage/embedded_log.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace eventide::storage {

namespace {

// ---- encoding ---------------------------------------------------------------------------

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xFF);
}

void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xFF);
}

uint32_t get_be32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t get_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string topic_key(const std::string& topic) { return "t/" + topic; }

std::string partition_prefix(const topic_partition& tp) {
  std::string k = "r/" + tp.topic + "/";
  put_be32(k, static_cast<uint32_t>(tp.partition));
  return k;
}

std::string record_key(const topic_partition& tp, int64_t offset) {
  std::string k = partition_prefix(tp);
  put_be64(k, static_cast<uint64_t>(offset));
  return k;
}

std::string commit_key(const std::string& group, const topic_partition& tp) {
  std::string k = "c/";
  put_be32(k, static_cast<uint32_t>(group.size()));
  k += group;
  k += tp.topic;
  k += '/';
  put_be32(k, static_cast<uint32_t>(tp.partition));
  return k;
}

constexpr size_t record_header_size = 8 + 4; // timestamp, key length

bool starts_with(const rocksdb::Slice& s, const std::string& prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// Kafka's topic name rule; it also keeps '/' out of names, which the key layout relies on.
outcome<void> check_topic_name(const std::string& topic) {
  if (topic.empty())
    return fail("topic name is empty");
  if (topic.size() > 249)
    return fail("topic name '" + topic + "' is longer than 249 characters");
  if (topic == "." || topic == "..")
    return fail("topic name '" + topic + "' is not allowed");
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-';
    if (!ok)
      return fail("topic name '" + topic + "' may only contain letters, digits, '.', '_' and '-'");
  }
  return {};
}

std::string tp_text(const topic_partition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// ---- shared state -----------------------------------------------------------------------

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

  outcome<void> load() {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("t/"); it->Valid() && it->key().starts_with("t/"); it->Next()) {
      if (it->value().size() != 4)
        return fail("embedded log at " + dir + ": corrupt topic entry " + it->key().ToString());
      topic_state t;
      t.partitions = static_cast<int32_t>(get_be32(it->value().data()));
      t.next_offset.assign(static_cast<size_t>(t.partitions), 0);
      topics.emplace(it->key().ToString().substr(2), std::move(t));
    }
    for (auto& [name, t] : topics) {
      for (int32_t p = 0; p < t.partitions; ++p) {
        // The last record key of the partition sits just below prefix + 0xFF..FF.
        std::string prefix = partition_prefix({name, p});
        it->SeekForPrev(prefix + std::string(8, '\xFF'));
        if (it->Valid() && starts_with(it->key(), prefix)
            && it->key().size() == prefix.size() + 8)
          t.next_offset[static_cast<size_t>(p)] =
            static_cast<int64_t>(get_be64(it->key().data() + prefix.size())) + 1;
      }
    }
    for (it->Seek("c/"); it->Valid() && it->key().starts_with("c/"); it->Next()) {
      rocksdb::Slice k = it->key();
      auto corrupt = [&] {
        return fail("embedded log at " + dir + ": corrupt commit entry");
      };
      if (k.size() < 2 + 4 || it->value().size() != 8)
        return corrupt();
      size_t group_len = get_be32(k.data() + 2);
      size_t rest = 2 + 4 + group_len;
      if (k.size() < rest + 1 + 4)
        return corrupt();
      std::string group(k.data() + 6, group_len);
      std::string topic(k.data() + rest, k.size() - rest - 1 - 4);
      int32_t partition = static_cast<int32_t>(get_be32(k.data() + k.size() - 4));
      commits[{group, {topic, partition}}] = static_cast<int64_t>(get_be64(it->value().data()));
    }
    if (!it->status().ok())
      return fail("embedded log at " + dir + ": " + it->status().ToString());
    return {};
  }

  outcome<topic_state*> ensure_topic_locked(const std::string& topic) {
    auto found = topics.find(topic);
    if (found != topics.end())
      return &found->second;
    if (auto ok = check_topic_name(topic); !ok)
      return fail("embedded log: " + ok.error());
    std::string count;
    put_be32(count, static_cast<uint32_t>(options.partitions));
    auto s = db->Put(write_options, topic_key(topic), count);
    if (!s.ok())
      return fail("embedded log: cannot create topic " + topic + ": " + s.ToString());
    topic_state t;
    t.partitions = options.partitions;
    t.next_offset.assign(static_cast<size_t>(t.partitions), 0);
    return &topics.emplace(topic, std::move(t)).first->second;
  }

  // The high watermark, or a failure naming the unknown topic or partition.
  outcome<int64_t> high_locked(const topic_partition& tp) const {
    auto t = topics.find(tp.topic);
    if (t == topics.end())
      return fail("embedded log: unknown topic '" + tp.topic + "'");
    if (tp.partition < 0 || tp.partition >= t->second.partitions)
      return fail("embedded log: topic '" + tp.topic + "' has no partition "
                  + std::to_string(tp.partition) + " (it has "
                  + std::to_string(t->second.partitions) + ")");
    return t->second.next_offset[static_cast<size_t>(tp.partition)];
  }

  int64_t high_or_zero_locked(const topic_partition& tp) const {
    auto h = high_locked(tp);
    return h ? *h : 0;
  }

  std::optional<int64_t> committed_locked(const std::string& group,
                                          const topic_partition& tp) const {
    auto it = commits.find({group, tp});
    if (it == commits.end())
      return std::nullopt;
    return it->second;
  }

  // Round-robin over the group's sorted partitions, skipping members not subscribed to a
  // topic (Kafka's RoundRobinAssignor). Members notice at their next poll().
  void rebalance_locked(group_state& group) {
    std::set<std::string> wanted;
    for (auto* m : group.members)
      wanted.insert(m->topics.begin(), m->topics.end());
    std::vector<std::set<topic_partition>> plan(group.members.size());
    size_t next = 0;
    for (const auto& topic : wanted) {
      int32_t count = topics.at(topic).partitions;
      for (int32_t p = 0; p < count; ++p) {
        for (size_t k = 0; k < group.members.size(); ++k) {
          size_t idx = (next + k) % group.members.size();
          const auto& subscribed = group.members[idx]->topics;
          if (std::find(subscribed.begin(), subscribed.end(), topic) != subscribed.end()) {
            plan[idx].insert({topic, p});
            next = idx + 1;
            break;
          }
        }
      }
    }
    for (size_t i = 0; i < group.members.size(); ++i) {
      member_state& m = *group.members[i];
      if (m.target != plan[i] || m.owned != plan[i]) {
        m.target = std::move(plan[i]);
        m.pending = true;
      }
    }
    notify_all_locked();
  }

  void notify_all_locked() {
    for (auto* m : members)
      m->changed.notify_one();
  }

  // Wakes the consumers that read `tp`: only their poll() can return something new.
  void notify_readers_locked(const topic_partition& tp) {
    for (auto* m : members)
      if (m->owned.count(tp))
        m->changed.notify_one();
  }

  bool rebalance_ready_locked(const member_state& m) const {
    if (!m.pending)
      return false;
    for (const auto& tp : m.owned)
      if (!m.target.count(tp))
        return true; // something to revoke
    const auto& owner = groups.at(m.group).owner;
    for (const auto& tp : m.target)
      if (!m.owned.count(tp) && !owner.count(tp))
        return true; // something free to take
    return false;
  }

  // Applies what can be applied now: drops revoked partitions from reading (they stay owned
  // until finish_release_locked) and takes target partitions nobody holds.
  void take_rebalance_locked(member_state& m, std::vector<topic_partition>& revoked,
                             std::vector<topic_partition>& granted) {
    auto& owner = groups.at(m.group).owner;
    for (const auto& tp : m.owned)
      if (!m.target.count(tp))
        revoked.push_back(tp);
    for (const auto& tp : revoked) {
      m.owned.erase(tp); // no longer read; position kept so the listener can commit it
      m.paused.erase(tp);
      m.releasing.insert(tp);
    }
    for (const auto& tp : m.target) {
      if (m.owned.count(tp) || owner.count(tp))
        continue;
      owner[tp] = &m;
      m.owned.insert(tp);
      auto start = committed_locked(m.group, tp);
      m.positions[tp] = start ? *start
                              : (m.reset == offset_reset::earliest ? 0 : high_or_zero_locked(tp));
      granted.push_back(tp);
    }
    m.pending = m.owned != m.target;
  }

  void finish_release_locked(member_state& m) {
    if (m.releasing.empty())
      return;
    auto& owner = groups.at(m.group).owner;
    for (const auto& tp : m.releasing) {
      m.positions.erase(tp);
      auto it = owner.find(tp);
      if (it != owner.end() && it->second == &m)
        owner.erase(it);
    }
    m.releasing.clear();
    notify_all_locked(); // members waiting for these partitions can take them now
  }

  void leave_group_locked(member_state& m) {
    auto g = groups.find(m.group);
    if (g == groups.end())
      return;
    auto& members = g->second.members;
    members.erase(std::remove(members.begin(), members.end(), &m), members.end());
    for (auto it = g->second.owner.begin(); it != g->second.owner.end();)
      it = it->second == &m ? g->second.owner.erase(it) : std::next(it);
    m.owned.clear();
    m.releasing.clear();
    m.pending = false;
    if (members.empty())
      groups.erase(g);
    else
      rebalance_locked(g->second);
  }

  bool has_data_locked(const member_state& m) const {
    for (const auto& tp : m.owned) {
      if (m.paused.count(tp))
        continue;
      auto pos = m.positions.find(tp);
      if (pos != m.positions.end() && high_or_zero_locked(tp) > pos->second)
        return true;
    }
    return false;
  }

  // Splits up to `max` records fairly over the partitions that have data, starting at a
  // partition that rotates from poll to poll.
  std::vector<fetch> plan_fetch_locked(member_state& m, size_t max) const {
    std::vector<fetch> ready;
    for (const auto& tp : m.owned) {
      if (m.paused.count(tp))
        continue;
      int64_t pos = m.positions.at(tp);
      int64_t high = high_or_zero_locked(tp);
      if (high > pos)
        ready.push_back({tp, pos, high - pos});
    }
    if (ready.empty() || max == 0)
      return {};
    std::rotate(ready.begin(), ready.begin() + static_cast<long>(m.cursor++ % ready.size()),
                ready.end());
    std::vector<int64_t> take(ready.size(), 0);
    size_t remaining = max;
    bool progress = true;
    while (remaining > 0 && progress) {
      progress = false;
      for (size_t i = 0; i < ready.size() && remaining > 0; ++i) {
        if (take[i] < ready[i].count) {
          ++take[i];
          --remaining;
          progress = true;
        }
      }
    }
    std::vector<fetch> plan;
    for (size_t i = 0; i < ready.size(); ++i)
      if (take[i] > 0)
        plan.push_back({ready[i].tp, ready[i].start, take[i]});
    return plan;
  }

  // Reads the planned ranges with one iterator; runs without the mutex.
  outcome<std::vector<record>> read(const std::vector<fetch>& plan) {
    std::vector<record> out;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (const auto& f : plan) {
      std::string prefix = partition_prefix(f.tp);
      it->Seek(record_key(f.tp, f.start));
      for (int64_t i = 0; i < f.count && it->Valid(); ++i, it->Next()) {
        rocksdb::Slice k = it->key();
        rocksdb::Slice v = it->value();
        if (!starts_with(k, prefix) || k.size() != prefix.size() + 8)
          break;
        int64_t offset = static_cast<int64_t>(get_be64(k.data() + prefix.size()));
        if (offset != f.start + i)
          return fail("embedded log: " + tp_text(f.tp) + " is missing offset "
                      + std::to_string(f.start + i));
        if (v.size() < record_header_size)
          return fail("embedded log: corrupt record at " + tp_text(f.tp) + "@"
                      + std::to_string(offset));
        size_t key_len = get_be32(v.data() + 8);
        if (v.size() < record_header_size + key_len)
          return fail("embedded log: corrupt record at " + tp_text(f.tp) + "@"
                      + std::to_string(offset));
        record r;
        r.topic = f.tp.topic;
        r.partition = f.tp.partition;
        r.offset = offset;
        r.timestamp_ms = static_cast<int64_t>(get_be64(v.data()));
        r.key.assign(v.data() + record_header_size, key_len);
        r.value.assign(v.data() + record_header_size + key_len,
                       v.size() - record_header_size - key_len);
        out.push_back(std::move(r));
      }
      if (!it->status().ok())
        return fail("embedded log: read " + tp_text(f.tp) + ": " + it->status().ToString());
    }
    return out;
  }

  outcome<position> append(const std::string& topic, const std::string& key,
                           const std::string& value) {
    std::lock_guard<std::mutex> lk(mu);
    auto t = ensure_topic_locked(topic);
    if (!t)
      return std::move(t).take_failure();
    topic_state& ts = **t;
    int32_t partition = partition_for_key(key, ts.partitions);
    int64_t offset = ts.next_offset[static_cast<size_t>(partition)];

    std::string k = record_key({topic, partition}, offset);
    std::string header;
    put_be64(header, static_cast<uint64_t>(now_ms()));
    put_be32(header, static_cast<uint32_t>(key.size()));
    // SliceParts avoids copying the value into one buffer.
    rocksdb::Slice key_slice(k);
    rocksdb::Slice value_parts[] = {rocksdb::Slice(header), rocksdb::Slice(key),
                                    rocksdb::Slice(value)};
    rocksdb::WriteBatch batch;
    auto s = batch.Put(rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(value_parts, 3));
    if (s.ok())
      s = db->Write(write_options, &batch);
    if (!s.ok())
      return fail("embedded log: append to " + topic + "/" + std::to_string(partition)
                  + " failed: " + s.ToString());
    ++ts.next_offset[static_cast<size_t>(partition)];
    notify_readers_locked({topic, partition});
    return position{partition, offset};
  }
};

// ---- consumer ---------------------------------------------------------------------------

class embedded_consumer final : public consumer {
 public:
  embedded_consumer(std::shared_ptr<log_core> core) : core_(std::move(core)) {}
  ~embedded_consumer() override { close(); }

  member_state& state() { return state_; }

  outcome<std::vector<record>> poll(size_t max_records,
                                    std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lk(core_->mu);
    for (;;) {
      if (state_.closed)
        return fail("embedded log: poll on a closed consumer");
      if (core_->rebalance_ready_locked(state_)) {
        std::vector<topic_partition> revoked, granted;
        core_->take_rebalance_locked(state_, revoked, granted);
        // The listener commits and seeks through this consumer, so it runs unlocked.
        lk.unlock();
        std::string listener_error;
        if (listener_ && (!revoked.empty() || !granted.empty())) {
          try {
            listener_(revoked, granted);
          } catch (const std::exception& e) {
            listener_error = e.what();
          } catch (...) {
            listener_error = "unknown exception";
          }
        }
        lk.lock();
        core_->finish_release_locked(state_);
        if (!listener_error.empty())
          return fail("embedded log: rebalance listener failed: " + listener_error);
        continue;
      }
      auto plan = core_->plan_fetch_locked(state_, max_records);
      if (!plan.empty()) {
        lk.unlock();
        auto records = core_->read(plan);
        lk.lock();
        if (!records)
          return std::move(records).take_failure();
        // Only this thread moves positions, and owned partitions change only in poll().
        for (const auto& r : *records)
          state_.positions[{r.topic, r.partition}] = r.offset + 1;
        state_.wakeup = false; // the caller is back in control either way
        return records;
      }
      if (state_.wakeup) {
        state_.wakeup = false;
        return std::vector<record>{};
      }
      if (max_records == 0 || std::chrono::steady_clock::now() >= deadline)
        return std::vector<record>{};
      state_.changed.wait_until(lk, deadline, [&] {
        return state_.closed || state_.wakeup || core_->rebalance_ready_locked(state_)
               || core_->has_data_locked(state_);
      });
    }
  }

  outcome<void> commit(const topic_partition& tp, int64_t next_offset) override {
    if (state_.group.empty())
      return {}; // assign() consumers have no group to commit for
    std::lock_guard<std::mutex> lk(core_->mu);
    if (state_.closed)
      return fail("embedded log: commit on a closed consumer");
    if (!state_.owned.count(tp) && !state_.releasing.count(tp))
      return fail("embedded log: cannot commit " + tp_text(tp) + " for group '" + state_.group
                  + "': the partition is not assigned to this member");
    if (next_offset < 0)
      return fail("embedded log: cannot commit negative offset " + std::to_string(next_offset)
                  + " for " + tp_text(tp));
    std::string value;
    put_be64(value, static_cast<uint64_t>(next_offset));
    auto s = core_->db->Put(core_->write_options, commit_key(state_.group, tp), value);
    if (!s.ok())
      return fail("embedded log: commit " + tp_text(tp) + " for group '" + state_.group
                  + "' failed: " + s.ToString());
    core_->commits[{state_.group, tp}] = next_offset;
    return {};
  }

  outcome<void> seek(const topic_partition& tp, int64_t offset) override {
    std::lock_guard<std::mutex> lk(core_->mu);
    if (!state_.owned.count(tp))
      return fail("embedded log: cannot seek " + tp_text(tp)
                  + ": the partition is not assigned to this consumer");
    int64_t high = core_->high_or_zero_locked(tp);
    if (offset < 0 || offset > high)
      return fail("embedded log: cannot seek " + tp_text(tp) + " to " + std::to_string(offset)
                  + ": valid offsets are 0.." + std::to_string(high));
    state_.positions[tp] = offset;
    return {};
  }

  std::optional<int64_t> position_of(const topic_partition& tp) const override {
    std::lock_guard<std::mutex> lk(core_->mu);
    auto it = state_.positions.find(tp);
    if (it == state_.positions.end())
      return std::nullopt;
    return it->second;
  }

  std::vector<topic_partition> assignment() const override {
    std::lock_guard<std::mutex> lk(core_->mu);
    return {state_.owned.begin(), state_.owned.end()};
  }

  void pause(const topic_partition& tp) override {
    std::lock_guard<std::mutex> lk(core_->mu);
    if (state_.owned.count(tp))
      state_.paused.insert(tp);
  }

  void resume(const topic_partition& tp) override {
    std::lock_guard<std::mutex> lk(core_->mu);
    if (state_.paused.erase(tp) > 0)
      state_.changed.notify_one();
  }

  void set_rebalance_listener(rebalance_listener listener) override {
    listener_ = std::move(listener);
  }

  void wakeup() override {
    std::lock_guard<std::mutex> lk(core_->mu);
    state_.wakeup = true;
    state_.changed.notify_one();
  }

  void close() override {
    std::lock_guard<std::mutex> lk(core_->mu);
    if (state_.closed)
      return;
    state_.closed = true;
    if (!state_.group.empty())
      core_->leave_group_locked(state_);
    state_.owned.clear();
    state_.positions.clear();
    state_.paused.clear();
    auto& all = core_->members;
    all.erase(std::remove(all.begin(), all.end(), &state_), all.end());
    state_.changed.notify_one();
  }

 private:
  std::shared_ptr<log_core> core_; // keeps the database open while this consumer lives
  member_state state_;             // guarded by core_->mu
  rebalance_listener listener_;    // used only by the polling thread
};

// ---- log --------------------------------------------------------------------------------

class embedded_log final : public log {
 public:
  explicit embedded_log(std::shared_ptr<log_core> core) : core_(std::move(core)) {}

  void produce(const std::string& topic, const std::string& key, std::string value,
               delivery_callback on_delivery) override {
    auto result = core_->append(topic, key, value); // wakes the partition's readers
    if (on_delivery)
      on_delivery(std::move(result));
  }

  // Deliveries complete inside produce(), so nothing is ever pending here.
  void serve(std::chrono::milliseconds) override {}
  // Unless every append waits for an fsync.
  bool delivers_inline() const override { return !core_->options.sync_writes; }
  outcome<void> flush(std::chrono::milliseconds) override { return {}; }

  outcome<int32_t> partition_count(const std::string& topic) override {
    // Like a broker with auto-create: asking about a topic creates it.
    std::lock_guard<std::mutex> lk(core_->mu);
    auto t = core_->ensure_topic_locked(topic);
    if (!t)
      return std::move(t).take_failure();
    return (*t)->partitions;
  }

  outcome<watermarks> query_watermarks(const topic_partition& tp) override {
    std::lock_guard<std::mutex> lk(core_->mu);
    auto high = core_->high_locked(tp);
    if (!high)
      return std::move(high).take_failure();
    return watermarks{0, *high}; // nothing is ever deleted
  }

  outcome<std::optional<int64_t>> committed(const std::string& group,
                                            const topic_partition& tp) override {
    std::lock_guard<std::mutex> lk(core_->mu);
    return core_->committed_locked(group, tp);
  }

  outcome<std::unique_ptr<consumer>> subscribe(const std::string& group,
                                               const std::vector<std::string>& topics,
                                               offset_reset reset) override {
    if (group.empty())
      return fail("embedded log: subscribe needs a consumer group id");
    if (topics.empty())
      return fail("embedded log: subscribe needs at least one topic");
    auto c = std::make_unique<embedded_consumer>(core_);
    member_state& m = c->state();
    m.group = group;
    m.reset = reset;
    m.topics = topics;
    std::sort(m.topics.begin(), m.topics.end());
    m.topics.erase(std::unique(m.topics.begin(), m.topics.end()), m.topics.end());

    std::lock_guard<std::mutex> lk(core_->mu);
    for (const auto& t : m.topics)
      if (auto ok = core_->ensure_topic_locked(t); !ok) {
        m.closed = true; // never joined; the destructor has nothing to leave
        return std::move(ok).take_failure();
      }
    core_->members.push_back(&m);
    auto& g = core_->groups[group];
    g.members.push_back(&m);
    core_->rebalance_locked(g);
    return std::unique_ptr<consumer>(std::move(c));
  }

  outcome<std::unique_ptr<consumer>>
  assign(const std::vector<std::pair<topic_partition, int64_t>>& start) override {
    auto c = std::make_unique<embedded_consumer>(core_);
    member_state& m = c->state();
    std::lock_guard<std::mutex> lk(core_->mu);
    core_->members.push_back(&m);
    for (const auto& [tp, offset] : start) {
      if (auto ok = core_->ensure_topic_locked(tp.topic); !ok)
        return std::move(ok).take_failure();
      auto high = core_->high_locked(tp);
      if (!high)
        return std::move(high).take_failure();
      if (offset < 0 || offset > *high)
        return fail("embedded log: cannot start " + tp_text(tp) + " at "
                    + std::to_string(offset) + ": valid offsets are 0.." + std::to_string(*high));
      if (!m.owned.insert(tp).second)
        return fail("embedded log: " + tp_text(tp) + " is assigned twice");
      m.positions[tp] = offset;
    }
    return std::unique_ptr<consumer>(std::move(c));
  }

  std::string describe() const override { return "embedded:" + core_->dir; }

 private:
  std::shared_ptr<log_core> core_;
};

} // namespace

outcome<std::unique_ptr<log>> open_embedded_log(const embedded_options& options) {
  if (options.dir.empty())
    return fail("embedded log: no directory given");
  if (options.partitions < 1)
    return fail("embedded log: partitions must be at least 1, got "
                + std::to_string(options.partitions));
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    return fail("embedded log: cannot create directory " + options.dir + ": " + ec.message());

  auto core = std::make_shared<log_core>();
  core->dir = options.dir;
  core->options = options;
  core->write_options.sync = options.sync_writes;

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.write_buffer_size = 16 << 20;
  db_options.max_write_buffer_number = 2;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  auto supported = rocksdb::GetSupportedCompressions();
  db_options.compression =
    std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()
      ? rocksdb::kLZ4Compression
      : rocksdb::kNoCompression;

  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.dir, &raw);
  if (!s.ok()) {
    // RocksDB reports a held LOCK file as an IO error: "While lock file: ..." from another
    // process, "lock hold by current process" from this one.
    std::string text = s.ToString();
    if (s.IsIOError() && text.find("lock") != std::string::npos)
      return fail("embedded log at " + options.dir
                  + " is in use by another process (RocksDB lock)");
    return fail("embedded log at " + options.dir + ": " + text);
  }
  core->db.reset(raw);
  if (auto loaded = core->load(); !loaded)
    return fail(loaded.error());
  return std::unique_ptr<log>(std::make_unique<embedded_log>(std::move(core)));
}

} // namespace eventide::storage
