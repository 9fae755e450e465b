// What the log-contract files share (log_contract_test.cpp, group_contract_test.cpp): polling
// helpers, run() on one backend, and LOG_CONTRACT, which makes a case a test per backend.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/contract/backends.hpp"

namespace contract {

using namespace eventide::storage;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Polls until `count` records arrived (or the deadline), then checks nothing more comes.
inline std::vector<record> consume(consumer& c, size_t count, std::chrono::milliseconds within = 30s,
                            std::chrono::milliseconds quiet = 300ms) {
  std::vector<record> out;
  const auto deadline = steady::now() + within;
  while (out.size() < count && steady::now() < deadline) {
    auto batch = c.poll(100, 100ms);
    INFO((batch.ok() ? "" : batch.error()));
    REQUIRE(batch.ok());
    out.insert(out.end(), batch->begin(), batch->end());
  }
  const auto quiet_end = steady::now() + quiet;
  while (steady::now() < quiet_end) {
    auto batch = c.poll(100, 50ms);
    REQUIRE(batch.ok());
    out.insert(out.end(), batch->begin(), batch->end());
  }
  return out;
}

// Polls until the consumer owns every partition of the topic (a fresh group's join).
inline void wait_for_assignment(consumer& c, size_t partitions, std::chrono::milliseconds within,
                         std::vector<record>* seen = nullptr) {
  const auto deadline = steady::now() + within;
  while (c.assignment().size() < partitions && steady::now() < deadline) {
    auto batch = c.poll(100, 100ms);
    REQUIRE(batch.ok());
    if (seen)
      seen->insert(seen->end(), batch->begin(), batch->end());
  }
  REQUIRE(c.assignment().size() == partitions);
}

inline std::vector<topic_partition> all_partitions(const std::string& topic, int32_t count) {
  std::vector<topic_partition> out;
  for (int32_t p = 0; p < count; ++p)
    out.push_back({topic, p});
  return out;
}

inline int32_t partitions_of(eventide::storage::log& log, const std::string& topic) {
  auto count = log.partition_count(topic);
  INFO((count.ok() ? "" : count.error()));
  REQUIRE(count.ok());
  REQUIRE(*count >= 1);
  return *count;
}

inline std::string group_name(const std::string& base) {
  return "cg-" + base + "-" + contract::unique_suffix();
}

inline void run(backend_kind kind, const std::function<void(log_fixture&)>& body) {
  auto fixture = contract::open_fixture(kind); // exits as skipped if the backend is missing
  REQUIRE(fixture);
  body(*fixture);
}

} // namespace contract

// One test per backend for a contract case `body` (a function taking the backend's fixture).
#define LOG_CONTRACT(title, body)                                                               \
  TEST_CASE("embedded: " title, "[contract][embedded]") {                                       \
    contract::run(contract::backend_kind::embedded, body);                  \
  }                                                                                             \
  TEST_CASE("mock: " title, "[contract][mock]") {                                               \
    contract::run(contract::backend_kind::mock, body);                      \
  }                                                                                             \
  TEST_CASE("kafka: " title, "[contract][kafka]") {                                             \
    contract::run(contract::backend_kind::kafka, body);                     \
  }
