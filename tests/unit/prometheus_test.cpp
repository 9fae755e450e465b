#include <catch2/catch.hpp>

#include "core/prometheus.hpp"

TEST_CASE("prometheus text from a node's health document") {
  const char* health = R"({"node":"n1","time":1,"log":"kafka:x","logError":"Connect failed",
    "producer":{"produced":12,"failed":1,"pending":0,"lastError":""},
    "bridges":[{"group":"router","live":true,"partitions":3,"inFlight":2,"handled":40,
                "deadLettered":1,"lastError":""}],
    "providers":{"ollama/llama3":{"calls":5,"requests":7,"retries":2,"failures":1,
                 "shortCircuits":0,"breaker":"half-open"}}})";
  auto t = eventide::core::prometheus_text(health);
  REQUIRE(t);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(t->find(line + "\n") != std::string::npos);
  };
  has("eventide_log_client_error{node=\"n1\"} 1");
  has("eventide_produced_total{node=\"n1\"} 12");
  has("eventide_produce_failures_total{node=\"n1\"} 1");
  has("eventide_records_handled_total{node=\"n1\",group=\"router\"} 40");
  has("eventide_dead_letters_total{node=\"n1\",group=\"router\"} 1");
  has("eventide_records_in_flight{node=\"n1\",group=\"router\"} 2");
  has("eventide_group_live{node=\"n1\",group=\"router\"} 1");
  has("eventide_provider_retries_total{node=\"n1\",endpoint=\"ollama/llama3\"} 2");
  has("eventide_provider_breaker_open{node=\"n1\",endpoint=\"ollama/llama3\"} 0.5");
  has("# TYPE eventide_records_handled_total counter");
  CHECK_FALSE(eventide::core::prometheus_text("{oops"));
}
