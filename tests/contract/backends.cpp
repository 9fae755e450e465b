#include "tests/contract/backends.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include "storage/embedded_log.hpp"
#include "storage/kafka_log.hpp"
#include "tests/temp_dir.hpp"

namespace contract {

using namespace eventide;

const char* backend_name(backend_kind kind) {
  switch (kind) {
    case backend_kind::embedded:
      return "embedded";
    case backend_kind::mock:
      return "mock";
    case backend_kind::kafka:
      return "kafka";
  }
  return "?";
}

std::string unique_suffix() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lk(mu);
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int i = 0; i < 10; ++i)
    s += digits[rng() % 36];
  return s;
}

namespace {

constexpr int32_t default_partitions = 4;

std::string topic_name(const std::string& base) { return "ct-" + base + "-" + unique_suffix(); }

class embedded_fixture final : public log_fixture {
 public:
  embedded_fixture() {
    storage::embedded_options options;
    options.dir = dir_.path;
    options.partitions = default_partitions;
    auto opened = storage::open_embedded_log(options);
    REQUIRE(opened.ok());
    log_ = std::move(opened).value();
  }
  ~embedded_fixture() override {
    log_.reset(); // closes the database before its directory goes
  }
  std::string make_topic(const std::string& base) override {
    std::string topic = topic_name(base);
    // The embedded log creates topics on first use; a throwaway assign() is such a use.
    auto probe = log_->assign({{{topic, 0}, log_offset{0}}});
    REQUIRE(probe.ok());
    return topic;
  }
  std::chrono::milliseconds rebalance_wait() const override { return std::chrono::seconds(10); }
  std::chrono::milliseconds session_timeout() const override { return {}; }

 private:
  testing::temp_dir dir_{"eventide-contract"};
};

// Hosts the mock cluster on its own quiet handle; the log under test connects to it like to a
// real cluster.
class mock_fixture final : public log_fixture {
 public:
  mock_fixture() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(host_ != nullptr);
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    REQUIRE(cluster_ != nullptr);
    storage::kafka_options options;
    options.brokers = rd_kafka_mock_cluster_bootstraps(cluster_);
    options.partitions = default_partitions;
    options.session_timeout_ms = 6000; // the mock waits this long on membership changes
    options.extra = {{"consumer.fetch.wait.max.ms", "1"}}; // the mock holds every fetch this long
    auto opened = storage::open_kafka_log(options);
    INFO((opened.ok() ? "" : opened.error()));
    REQUIRE(opened.ok());
    log_ = std::move(opened).value();
  }
  ~mock_fixture() override {
    log_.reset(); // clients first, so they don't log the cluster going away
    if (cluster_)
      rd_kafka_mock_cluster_destroy(cluster_);
    if (host_)
      rd_kafka_destroy(host_);
  }
  std::string make_topic(const std::string& base) override {
    std::string topic = topic_name(base);
    REQUIRE(rd_kafka_mock_topic_create(cluster_, topic.c_str(), default_partitions, 1)
            == RD_KAFKA_RESP_ERR_NO_ERROR);
    return topic;
  }
  std::chrono::milliseconds rebalance_wait() const override { return std::chrono::seconds(60); }
  bool commits_during_rebalance() const override { return false; }
  rd_kafka_mock_cluster_s* mock_cluster() override { return cluster_; }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

class broker_fixture final : public log_fixture {
 public:
  broker_fixture() {
    storage::kafka_options options = broker_options();
    options.partitions = default_partitions; // used where the broker lets us create topics
    auto opened = storage::open_kafka_log(options);
    INFO((opened.ok() ? "" : opened.error()));
    REQUIRE(opened.ok());
    log_ = std::move(opened).value();
  }
  std::string make_topic(const std::string& base) override {
    std::string topic = topic_name(base);
    auto count = log_->partition_count(topic); // creates it (admin API or broker auto-create)
    INFO((count.ok() ? "" : count.error()));
    REQUIRE(count.ok());
    return topic;
  }
  std::chrono::milliseconds rebalance_wait() const override { return std::chrono::seconds(60); }
};

} // namespace

void skip(const std::string& reason) {
  // Catch2 2.x has no "skipped": end the process with the code ctest reports as skipped
  // (SKIP_RETURN_CODE 77, tests/CMakeLists.txt). ctest runs each case in its own process.
  std::cout << "SKIP: " << reason << std::endl;
  std::_Exit(77);
}

storage::kafka_options broker_options() {
  const char* bootstrap = std::getenv("KAFKA_BOOTSTRAP");
  if (!bootstrap || !*bootstrap) {
    const char* required = std::getenv("EVENTIDE_REQUIRE_KAFKA");
    if (required && std::string(required) == "1")
      FAIL("EVENTIDE_REQUIRE_KAFKA=1 but KAFKA_BOOTSTRAP is not set: start a broker "
           "(scripts/kafka-test-env.sh start) and export KAFKA_BOOTSTRAP");
    skip("KAFKA_BOOTSTRAP is not set (no real Kafka broker to test against)");
  }
  storage::kafka_options options;
  options.brokers = bootstrap;
  const char* fallback = std::getenv("KAFKA_VERSION_FALLBACK");
  options.broker_version_fallback = fallback ? fallback : ""; // unset: a modern broker
  options.create_topics = options.broker_version_fallback.empty();
  options.session_timeout_ms = 6000;
  return options;
}

bool broker_is_modern() { return broker_options().broker_version_fallback.empty(); }

std::unique_ptr<log_fixture> open_fixture(backend_kind kind) {
  switch (kind) {
    case backend_kind::embedded:
      return std::make_unique<embedded_fixture>();
    case backend_kind::mock:
      return std::make_unique<mock_fixture>();
    case backend_kind::kafka:
      return std::make_unique<broker_fixture>();
  }
  return nullptr;
}

// Produces every record and waits for all acknowledgements; returns them in produce order.
std::vector<eventide::storage::position> produce_all(eventide::storage::log& log,
                                                   const std::string& topic,
                                  const std::vector<key_value>& records,
                                  std::chrono::milliseconds timeout) {
  std::vector<std::optional<eventide::outcome<eventide::storage::position>>> acks(records.size());
  for (size_t i = 0; i < records.size(); ++i)
    log.produce(topic, records[i].first, records[i].second,
                [&acks, i](eventide::outcome<eventide::storage::position> p) {
                  REQUIRE_FALSE(acks[i].has_value()); // exactly one acknowledgement
                  acks[i].emplace(std::move(p));
                });
  auto flushed = log.flush(timeout);
  INFO((flushed.ok() ? "" : flushed.error()));
  REQUIRE(flushed.ok());
  std::vector<eventide::storage::position> out;
  for (auto& a : acks) {
    REQUIRE(a.has_value());
    INFO((a->ok() ? "" : a->error()));
    REQUIRE(a->ok());
    out.push_back(a->value());
  }
  return out;
}

} // namespace contract
