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

TEST_CASE("prometheus text of the metrics role's projection") {
  // node::health() of a node hosting the metrics role (core::metrics_json plus live, ...).
  const char* health = R"({"node":"m1","time":1,"log":"embedded:x","logError":"",
    "producer":{"produced":0,"failed":0,"pending":0,"lastError":""},"bridges":[],"providers":{},
    "metrics":{"conversations":5,"answered":4,"failed":1,"open":1,
      "endToEnd":{"count":4,"sumMs":100.0,"window":4,"meanMs":25.0,"p50Ms":20.0,"p95Ms":40.0,
                  "p99Ms":40.0,"maxMs":40.0},
      "tools":{"math":{"count":3,"sumMs":4.5,"window":2,"meanMs":1.5,"p50Ms":1.0,"p95Ms":2.5,
                       "p99Ms":2.5,"maxMs":2.5},
               "weather":{"count":0,"sumMs":0.0,"window":0,"meanMs":0.0,"p50Ms":0.0,
                          "p95Ms":0.0,"p99Ms":0.0,"maxMs":0.0}},
      "roles":{"router":{"count":5,"sumMs":20.0,"window":5,"meanMs":4.0,"p50Ms":4.0,
                         "p95Ms":6.0,"p99Ms":6.0,"maxMs":6.0}},
      "causesNotInView":{},"eventsByType":{"UserQueryReceived":5},
      "eventsByTopic":{"conversation-events":30,"user-commands":9},"eventsPerSecond":3.5,
      "eventsPerSecondByTopic":{"conversation-events":1.25,"user-commands":0},
      "toolErrors":2,"retries":1,"duplicates":3,"evicted":0,
      "deadLetters":{"orchestrator":7},"undecodable":{"conversation-events":7},
      "consumerLag":{"router":0,"tool-math":12},"firstMs":1,"lastMs":2,
      "live":true,"records":46,"lastError":""}})";
  auto t = eventide::core::prometheus_text(health);
  REQUIRE(t);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(t->find(line + "\n") != std::string::npos);
  };
  has("eventide_metrics_projection_live 1");
  has("# TYPE eventide_conversations gauge");
  has("eventide_conversations{state=\"answered\"} 3"); // answered without failure
  has("eventide_conversations{state=\"failed\"} 1");
  has("eventide_conversations{state=\"open\"} 1");
  has("# TYPE eventide_end_to_end_latency_ms summary");
  has("eventide_end_to_end_latency_ms{quantile=\"0.5\"} 20");
  has("eventide_end_to_end_latency_ms{quantile=\"0.95\"} 40");
  has("eventide_end_to_end_latency_ms{quantile=\"0.99\"} 40");
  has("eventide_end_to_end_latency_ms_sum 100");
  has("eventide_end_to_end_latency_ms_count 4");
  has("eventide_tool_latency_ms{tool=\"math\",quantile=\"0.5\"} 1");
  has("eventide_tool_latency_ms{tool=\"math\",quantile=\"0.95\"} 2.5");
  has("eventide_tool_latency_ms_sum{tool=\"math\"} 4.5");
  has("eventide_tool_latency_ms_count{tool=\"math\"} 3");
  has("eventide_tool_latency_ms{tool=\"weather\",quantile=\"0.99\"} NaN"); // no sample yet
  has("eventide_tool_latency_ms_count{tool=\"weather\"} 0");
  has("eventide_role_processing_ms{role=\"router\",quantile=\"0.95\"} 6");
  has("eventide_role_processing_ms_count{role=\"router\"} 5");
  has("# TYPE eventide_events_total counter");
  has("eventide_events_total{topic=\"conversation-events\"} 30");
  has("eventide_events_total{topic=\"user-commands\"} 9");
  has("eventide_events_per_second{topic=\"conversation-events\"} 1.25");
  has("eventide_events_per_second{topic=\"user-commands\"} 0");
  has("eventide_consumer_lag{group=\"router\"} 0");
  has("eventide_consumer_lag{group=\"tool-math\"} 12");
  has("eventide_log_dead_letters_total{group=\"orchestrator\"} 7");
  has("eventide_undecodable_records_total{topic=\"conversation-events\"} 7");
  has("eventide_tool_errors_total 2");
  has("eventide_step_retries_total 1");
  has("eventide_duplicate_records_total 3");
  // The per-node bridge metric keeps its own name: no clash with the log-wide dead letters.
  CHECK(t->find("eventide_dead_letters_total{") == std::string::npos);
  // Without the role there is no projection at all.
  auto plain = eventide::core::prometheus_text(R"({"node":"n1","bridges":[]})");
  REQUIRE(plain);
  CHECK(plain->find("eventide_conversations") == std::string::npos);
}

TEST_CASE("prometheus text survives a projection of the wrong shape") {
  auto t = eventide::core::prometheus_text(R"({"node":"n1","metrics":{"answered":"x",
    "failed":2.7,"open":1e300,"endToEnd":5,"tools":[1],"roles":{"router":"slow"},
    "eventsByTopic":{"user-commands":"many","conversation-events":4},"consumerLag":null,
    "live":"yes"},"producer":{"produced":1.5}})");
  REQUIRE(t);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(t->find(line + "\n") != std::string::npos);
  };
  has("eventide_metrics_projection_live 0");
  has("eventide_conversations{state=\"answered\"} 0");
  has("eventide_conversations{state=\"failed\"} 2");
  has("eventide_conversations{state=\"open\"} 0");
  has("eventide_events_total{topic=\"conversation-events\"} 4");
  has("eventide_produced_total{node=\"n1\"} 1");
  CHECK(t->find("eventide_end_to_end_latency_ms{") == std::string::npos);
  CHECK(t->find("eventide_events_total{topic=\"user-commands\"}") == std::string::npos);
}
