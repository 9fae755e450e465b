// What the embedded log's tests share (embedded_log_test.cpp, embedded_consumer_test.cpp): a log
// in a directory, a produce that waits for its delivery, keys per partition, polling helpers.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/embedded_log.hpp"

namespace eventide::testing {

using namespace eventide::storage;
using namespace std::chrono_literals;

inline std::unique_ptr<storage::log> open_log(const std::string& dir, int32_t partitions = 3) {
  embedded_options options;
  options.dir = dir;
  options.partitions = partitions;
  auto opened = open_embedded_log(options);
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

inline position produce_sync(storage::log& l, const std::string& topic, const std::string& key,
                      const std::string& value) {
  std::optional<outcome<position>> delivered;
  l.produce(topic, key, value, [&](outcome<position> p) { delivered.emplace(std::move(p)); });
  REQUIRE(delivered.has_value()); // the embedded log delivers inline
  REQUIRE(delivered->ok());
  return delivered->value();
}

// A key that the murmur2 partitioner sends to `partition`.
inline std::string key_for_partition(int32_t partition, int32_t partitions) {
  for (int i = 0;; ++i) {
    std::string key = "key-" + std::to_string(i);
    if (partition_for_key(key, partitions) == partition)
      return key;
  }
}

// Polls until `count` records arrived or two seconds passed.
inline std::vector<record> poll_n(consumer& c, size_t count) {
  std::vector<record> all;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = c.poll(count - all.size(), 50ms);
    REQUIRE(batch.ok());
    for (auto& r : batch.value())
      all.push_back(std::move(r));
  }
  return all;
}

// Polls until a poll comes back empty.
inline std::vector<record> drain(consumer& c) {
  std::vector<record> all;
  for (;;) {
    auto batch = c.poll(100, 50ms);
    REQUIRE(batch.ok());
    if (batch.value().empty())
      return all;
    for (auto& r : batch.value())
      all.push_back(std::move(r));
  }
}

inline std::set<topic_partition> as_set(const std::vector<topic_partition>& v) {
  return {v.begin(), v.end()};
}

inline std::vector<topic_partition> partitions_of(const std::string& topic, int32_t n) {
  std::vector<topic_partition> out;
  for (int32_t p = 0; p < n; ++p)
    out.push_back({topic, p});
  return out;
}

} // namespace eventide::testing
