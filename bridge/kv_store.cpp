#include "bridge/kv_store.hpp"

#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

namespace eventide::bridge {

struct kv_store::impl {
  std::unique_ptr<rocksdb::DB> db;
};

kv_store::kv_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
kv_store::~kv_store() = default;

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
      return fail("store at " + dir + " is in use by another process (RocksDB lock)");
    return fail("cannot open store at " + dir + ": " + st.ToString());
  }
  auto p = std::make_unique<impl>();
  p->db.reset(raw);
  return std::unique_ptr<kv_store>(new kv_store(std::move(p)));
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

outcome<void> kv_store::scan(const std::string& prefix,
                             const std::function<void(const std::string&, const std::string&)>& f) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    f(it->key().ToString(), it->value().ToString());
  if (!it->status().ok())
    return fail("store scan: " + it->status().ToString());
  return {};
}

} // namespace eventide::bridge
