// Kafka-backend behaviour beyond the shared contract: fault injection on the mock cluster,
// option validation and topic discovery errors.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bridge/kafka_log.hpp"
#include "tests/contract/backends.hpp"

using namespace eventide;
using namespace eventide::bridge;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using contract::key_value;
using contract::produce_all;

constexpr int16_t produce_api_key = 0; // Kafka protocol ApiKey of Produce

// Produces `count` records under one key and returns their acknowledgements in order.
std::vector<position> produce_sequence(bridge::log& log, const std::string& topic,
                                       const std::string& key, int count) {
  std::vector<key_value> records;
  for (int i = 0; i < count; ++i)
    records.emplace_back(key, key + "-" + std::to_string(i));
  return produce_all(log, topic, records, 60s);
}

// Reads a whole partition from offset 0 and checks it holds exactly key-0..key-(count-1).
void expect_exactly_once_in_order(bridge::log& log, const topic_partition& tp,
                                  const std::string& key, int count) {
  auto c = log.assign({{tp, 0}});
  REQUIRE(c.ok());
  std::vector<record> got;
  const auto deadline = steady::now() + 30s;
  while (got.size() < static_cast<size_t>(count) && steady::now() < deadline) {
    auto batch = (*c)->poll(100, 100ms);
    REQUIRE(batch.ok());
    got.insert(got.end(), batch->begin(), batch->end());
  }
  auto extra = (*c)->poll(100, 300ms);
  REQUIRE(extra.ok());
  REQUIRE(extra->empty());
  REQUIRE(got.size() == static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    REQUIRE(got[static_cast<size_t>(i)].offset == i);
    REQUIRE(got[static_cast<size_t>(i)].value == key + "-" + std::to_string(i));
  }
  auto w = log.query_watermarks(tp);
  REQUIRE(w.ok());
  REQUIRE(w->high == count);
}

} // namespace

TEST_CASE("mock: retriable produce errors still deliver once and in order",
          "[contract][mock][faults]") {
  auto f = contract::open_fixture(contract::backend_kind::mock);
  auto& log = f->log();
  const std::string topic = f->make_topic("faults");
  auto partitions = log.partition_count(topic);
  REQUIRE(partitions.ok());
  const topic_partition tp{topic, partition_for_key("f", *partitions)};

  // The next three Produce requests fail as if leadership had moved.
  rd_kafka_mock_push_request_errors(f->mock_cluster(), produce_api_key, 3,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  auto acks = produce_sequence(log, topic, "f", 50);
  for (size_t i = 0; i < acks.size(); ++i) {
    REQUIRE(acks[i].partition == tp.partition);
    // -1: a retry the broker recognised as already written is acknowledged without an offset.
    if (acks[i].offset != -1)
      REQUIRE(acks[i].offset == static_cast<int64_t>(i));
  }
  expect_exactly_once_in_order(log, tp, "f", 50);
}

TEST_CASE("mock: records produced while the broker is down arrive once it is back",
          "[contract][mock][faults]") {
  auto f = contract::open_fixture(contract::backend_kind::mock);
  auto& log = f->log();
  const std::string topic = f->make_topic("down");
  auto partitions = log.partition_count(topic);
  REQUIRE(partitions.ok());
  const topic_partition tp{topic, partition_for_key("d", *partitions)};

  REQUIRE(rd_kafka_mock_broker_set_down(f->mock_cluster(), 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  int delivered = 0;
  for (int i = 0; i < 20; ++i)
    log.produce(topic, "d", "d-" + std::to_string(i), [&](outcome<position> p) {
      REQUIRE(p.ok());
      ++delivered;
    });
  for (const auto until = steady::now() + 1s; steady::now() < until;)
    log.serve(100ms);
  REQUIRE(delivered == 0); // nothing is acknowledged while the broker is away
  REQUIRE(rd_kafka_mock_broker_set_up(f->mock_cluster(), 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  auto flushed = log.flush(30s);
  INFO((flushed.ok() ? "" : flushed.error()));
  REQUIRE(flushed.ok());
  REQUIRE(delivered == 20);
  expect_exactly_once_in_order(log, tp, "d", 20);
}

TEST_CASE("kafka log: options are validated", "[contract][kafka-options]") {
  kafka_options none;
  auto no_brokers = open_kafka_log(none);
  REQUIRE_FALSE(no_brokers.ok());
  REQUIRE(no_brokers.error() == "kafka: no brokers given");

  kafka_options zero;
  zero.brokers = "127.0.0.1:9";
  zero.partitions = 0;
  auto no_partitions = open_kafka_log(zero);
  REQUIRE_FALSE(no_partitions.ok());
  REQUIRE(no_partitions.error().find("partitions must be at least 1") != std::string::npos);

  kafka_options bad_property;
  bad_property.brokers = "127.0.0.1:9";
  bad_property.extra = {{"no.such.property", "1"}};
  auto rejected = open_kafka_log(bad_property);
  REQUIRE_FALSE(rejected.ok());
  REQUIRE(rejected.error().find("no.such.property") != std::string::npos);
}

TEST_CASE("kafka log: unreachable brokers fail clearly", "[contract][kafka-options]") {
  kafka_options options;
  options.brokers = "127.0.0.1:9"; // discard port: nothing listens
  auto opened = open_kafka_log(options);
  REQUIRE_FALSE(opened.ok());
  REQUIRE(opened.error().find("cannot reach brokers 127.0.0.1:9") != std::string::npos);
}

TEST_CASE("kafka log: topic names follow Kafka's rule", "[contract][mock]") {
  auto f = contract::open_fixture(contract::backend_kind::mock);
  auto& log = f->log();
  REQUIRE(log.describe().rfind("kafka:127.0.0.1:", 0) == 0);
  auto spaced = log.partition_count("bad name");
  REQUIRE_FALSE(spaced.ok());
  REQUIRE(spaced.error()
          == "kafka: topic name 'bad name' may only contain letters, digits, '.', '_' and '-'");
  int failures = 0;
  log.produce("bad/name", "k", "v", [&](outcome<position> p) {
    REQUIRE_FALSE(p.ok());
    REQUIRE(p.error().find("'bad/name'") != std::string::npos);
    ++failures;
  });
  REQUIRE(failures == 1); // failed before queueing: reported inline
  REQUIRE_FALSE(log.subscribe("g", {""}, offset_reset::earliest).ok());
}
