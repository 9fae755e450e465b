// A small durable key-value store on RocksDB for node-local state that is *derived* from the log
// or guards effects: worker idempotency ledgers (and, later, orchestrator snapshots).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::storage {

class kv_store {
 public:
  /// Opens or creates the store; fails with a clear reason (e.g. locked by another process).
  static outcome<std::unique_ptr<kv_store>> open(const std::string& dir);
  ~kv_store();

  /// Waits until no kv_store of this process has `dir` open (RocksDB closed and its lock
  /// released). A shared_ptr's count reaches zero before the destructor has finished on the
  /// thread running it, so "no owner left" is not "closed".
  static bool wait_until_closed(const std::string& dir, std::chrono::milliseconds timeout);

  outcome<std::optional<std::string>> get(const std::string& key) const;
  /// Writes all pairs atomically (one WriteBatch).
  outcome<void> put(const std::vector<std::pair<std::string, std::string>>& pairs);
  /// Writes `puts` and deletes `deletes` atomically (one WriteBatch).
  outcome<void> write(const std::vector<std::pair<std::string, std::string>>& puts,
                      const std::vector<std::string>& deletes);
  /// Calls f(key, value) for every key with `prefix`, in key order.
  outcome<void> scan(const std::string& prefix,
                     const std::function<void(const std::string&, const std::string&)>& f) const;
  /// Calls f(key) for every key with `prefix`, in key order (values are not copied).
  outcome<void> scan_keys(const std::string& prefix,
                          const std::function<void(const std::string&)>& f) const;

 private:
  struct impl;
  std::string dir_;
  explicit kv_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace eventide::storage
