#include "storage/kv_store.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

namespace eventide::storage {

struct kv_store::impl {
  std::unique_ptr<rocksdb::DB> db;
};

namespace {

// Directories this process has open, for wait_until_closed().
struct open_registry {
  std::mutex mu;
  std::condition_variable closed;
  std::multiset<std::string> dirs;
};

open_registry& registry() {
  static open_registry r;
  return r;
}

std::string canonical_dir(const std::string& dir) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir : p.string();
}

} // namespace

kv_store::kv_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

kv_store::~kv_store() {
  impl_->db.reset(); // closes RocksDB and releases its lock
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lk(r.mu);
    if (auto it = r.dirs.find(dir_); it != r.dirs.end())
      r.dirs.erase(it);
  }
  r.closed.notify_all();
}

bool kv_store::wait_until_closed(const std::string& dir, std::chrono::milliseconds timeout) {
  auto& r = registry();
  auto key = canonical_dir(dir);
  std::unique_lock<std::mutex> lk(r.mu);
  return r.closed.wait_for(lk, timeout, [&] { return r.dirs.count(key) == 0; });
}

outcome<std::unique_ptr<kv_store>> kv_store::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return fail("cannot create " + dir + ": " + ec.message());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 4 << 20;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(options, dir, &raw);
  if (!st.ok()) {
    if (st.IsIOError() && st.ToString().find("lock") != std::string::npos)
      return fail("store at " + dir + " is in use by another process (" + st.ToString() + ")");
    return fail("cannot open store at " + dir + ": " + st.ToString());
  }
  auto p = std::make_unique<impl>();
  p->db.reset(raw);
  std::unique_ptr<kv_store> store(new kv_store(std::move(p)));
  store->dir_ = canonical_dir(dir);
  {
    std::lock_guard<std::mutex> lk(registry().mu);
    registry().dirs.insert(store->dir_);
  }
  return store;
}

outcome<std::optional<std::string>> kv_store::get(const std::string& key) const {
  std::string v;
  auto st = impl_->db->Get(rocksdb::ReadOptions(), key, &v);
  if (st.IsNotFound())
    return std::optional<std::string>{};
  if (!st.ok())
    return fail("store get " + key + ": " + st.ToString());
  return std::optional<std::string>{std::move(v)};
}

outcome<void> kv_store::put(const std::vector<std::pair<std::string, std::string>>& pairs) {
  return write(pairs, {});
}

outcome<void> kv_store::write(const std::vector<std::pair<std::string, std::string>>& puts,
                              const std::vector<std::string>& deletes) {
  rocksdb::WriteBatch batch;
  for (auto& [k, v] : puts)
    batch.Put(k, v);
  for (auto& k : deletes)
    batch.Delete(k);
  auto st = impl_->db->Write(rocksdb::WriteOptions(), &batch);
  if (!st.ok())
    return fail("store write: " + st.ToString());
  return {};
}

namespace {

// Calls f(iterator) at every key with `prefix`, in key order.
template <class F>
outcome<void> each_with_prefix(rocksdb::DB& db, const std::string& prefix, F f) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    f(*it);
  if (!it->status().ok())
    return fail("store scan: " + it->status().ToString());
  return {};
}

} // namespace

outcome<void> kv_store::scan(const std::string& prefix,
                             const std::function<void(const std::string&, const std::string&)>& f) const {
  return each_with_prefix(*impl_->db, prefix, [&](rocksdb::Iterator& it) {
    f(it.key().ToString(), it.value().ToString());
  });
}

outcome<void> kv_store::scan_keys(const std::string& prefix,
                                  const std::function<void(const std::string&)>& f) const {
  return each_with_prefix(*impl_->db, prefix, [&](rocksdb::Iterator& it) { f(it.key().ToString()); });
}

} // namespace eventide::storage
