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
//
// Here: the key encoding, log_core's storage side (load, topics, watermarks, reads, appends),
// the log itself and open_embedded_log(). Consumers and groups: embedded_consumer.cpp.
#include "storage/embedded_log.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <rocksdb/convenience.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "storage/embedded_internal.hpp"

namespace eventide::storage {

namespace {

// ---- encoding ---------------------------------------------------------------------------

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
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

constexpr size_t record_header_size = 8 + 4; // timestamp, key length

bool starts_with(const rocksdb::Slice& s, const std::string& prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace

// Declared in embedded_internal.hpp: the consumer writes commits with them.
void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xFF);
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

// ---- log_core: storage ------------------------------------------------------------------

outcome<void> log_core::load() {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("t/"); it->Valid() && it->key().starts_with("t/"); it->Next()) {
    if (it->value().size() != 4)
      return fail("embedded log at " + dir + ": corrupt topic entry " + it->key().ToString());
    topic_state t;
    t.resize(static_cast<int32_t>(get_be32(it->value().data())));
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

outcome<topic_state*> log_core::ensure_topic_locked(const std::string& topic) {
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
  t.resize(options.partitions);
  return &topics.emplace(topic, std::move(t)).first->second;
}

// The high watermark, or a failure naming the unknown topic or partition.
outcome<int64_t> log_core::high_locked(const topic_partition& tp) const {
  auto t = topics.find(tp.topic);
  if (t == topics.end())
    return fail("embedded log: unknown topic '" + tp.topic + "'");
  if (tp.partition < 0 || tp.partition >= t->second.partitions)
    return fail("embedded log: topic '" + tp.topic + "' has no partition "
                + std::to_string(tp.partition) + " (it has "
                + std::to_string(t->second.partitions) + ")");
  return t->second.next_offset[static_cast<size_t>(tp.partition)];
}

int64_t log_core::high_or_zero_locked(const topic_partition& tp) const {
  auto h = high_locked(tp);
  return h ? *h : 0;
}

std::optional<int64_t> log_core::committed_locked(const std::string& group,
                                                  const topic_partition& tp) const {
  auto it = commits.find({group, tp});
  if (it == commits.end())
    return std::nullopt;
  return it->second;
}

// Reads the planned ranges with one iterator; runs without the mutex.
outcome<std::vector<record>> log_core::read(const std::vector<fetch>& plan) {
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
        return fail("embedded log: " + to_string(f.tp) + " is missing offset "
                    + std::to_string(f.start + i));
      if (v.size() < record_header_size)
        return fail("embedded log: corrupt record at " + to_string(f.tp) + "@"
                    + std::to_string(offset));
      size_t key_len = get_be32(v.data() + 8);
      if (v.size() < record_header_size + key_len)
        return fail("embedded log: corrupt record at " + to_string(f.tp) + "@"
                    + std::to_string(offset));
      record r;
      r.topic = f.tp.topic;
      r.partition = f.tp.partition;
      r.offset = log_offset{offset};
      r.timestamp_ms = static_cast<int64_t>(get_be64(v.data()));
      r.key.assign(v.data() + record_header_size, key_len);
      r.value.assign(v.data() + record_header_size + key_len,
                     v.size() - record_header_size - key_len);
      out.push_back(std::move(r));
    }
    if (!it->status().ok())
      return fail("embedded log: read " + to_string(f.tp) + ": " + it->status().ToString());
  }
  return out;
}

outcome<position> log_core::append(const std::string& topic, const std::string& key,
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
  auto& recent = ts.recent[static_cast<size_t>(partition)];
  if (recent.size() == topic_state::recent_records)
    recent.pop_front();
  recent.push_back(record{topic, partition_id{partition}, log_offset{offset}, key, value,
                          static_cast<int64_t>(get_be64(header.data())), {}});
  notify_readers_locked({topic, partition});
  return position{partition_id{partition}, log_offset{offset}};
}

namespace {

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
  bool notifies_consumers() const override { return true; }
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
    return watermarks{log_offset{0}, log_offset{*high}}; // nothing is ever deleted
  }

  outcome<std::optional<log_offset>> committed(const std::string& group,
                                            const topic_partition& tp) override {
    std::lock_guard<std::mutex> lk(core_->mu);
    auto c = core_->committed_locked(group, tp);
    return c ? std::optional<log_offset>{log_offset{*c}} : std::nullopt;
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
  assign(const std::vector<std::pair<topic_partition, log_offset>>& start) override {
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
        return fail("embedded log: cannot start " + to_string(tp) + " at "
                    + std::to_string(offset) + ": valid offsets are 0.." + std::to_string(*high));
      if (!m.owned.insert(tp).second)
        return fail("embedded log: " + to_string(tp) + " is assigned twice");
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
