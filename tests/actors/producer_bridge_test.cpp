// The producer bridge over Kafka at shutdown: a record whose delivery report has not come (a
// broker down, a slow acknowledgement) must not keep the actor system from stopping.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "actors/bridges.hpp"
#include "storage/kafka_log.hpp"

using namespace eventide;
using namespace std::chrono_literals;

TEST_CASE("actors: a record still in flight at shutdown does not hold the actor system",
          "[actors][kafka]") {
  // Found on Kafka 4: pipeline_bench hung for good in ~actor_system after its last question.
  // Each delivery callback held the record's response promise, and so the detached producer
  // actor, until the log delivered it; the log is closed after the actor system, which waited
  // for that actor forever (`eventide node` could hang on SIGTERM the same way).
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(host != nullptr);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, 1);
  REQUIRE(cluster != nullptr);
  REQUIRE(rd_kafka_mock_topic_create(cluster, "t", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  storage::kafka_options options;
  options.brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  options.extra = {{"log_level", "2"}}; // the broker is down on purpose
  auto opened = storage::open_kafka_log(options);
  REQUIRE(opened.ok());
  std::shared_ptr<storage::log> log = std::move(*opened);
  REQUIRE(log->partition_count("t").ok());
  REQUIRE(rd_kafka_mock_broker_set_down(cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);

  auto stopped = std::async(std::launch::async, [log] {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    auto producer = spawn_producer(sys, log, "");
    caf::scoped_actor self{sys};
    self->send(producer, publish_atom::value, std::string("t"), std::string("k"),
               std::string("v"));
    std::this_thread::sleep_for(300ms); // queued in the log: no broker to take it
    self->send_exit(producer, caf::exit_reason::user_shutdown);
    self->wait_for(producer);
  }); // ~actor_system waits for every detached actor
  if (stopped.wait_for(30s) != std::future_status::ready) {
    // The future's destructor would wait forever too.
    std::cerr << "FAIL: the actor system did not stop within 30 s" << std::endl;
    std::_Exit(1);
  }
  stopped.get();
  REQUIRE(rd_kafka_mock_broker_set_up(cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  log.reset(); // delivers (or drops) the record; its callback finds the producer gone
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
}
