// The metrics role's CAF-free parts: folding polled batches (cause before effect across
// partitions), dead letters and undecodable records, consumer lag per group. The role itself is
// tested in metrics_role_test.cpp and end to end in tests/cli/metrics.sh.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>

#include "actors/metrics_role.hpp"
#include "schemas/codec.hpp"
#include "storage/dead_letter.hpp"
#include "storage/embedded_log.hpp"
#include "core/event_ids.hpp"
#include "tests/actors/metrics_records.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;
using namespace std::chrono_literals;

namespace {

using testing::effects_first;
using testing::metrics_event;
using testing::metrics_record;
using testing::raw_record;
using testing::temp_dir;

void no_undecodable(const storage::record& r, const std::string& reason) {
  FAIL("undecodable " << r.topic << "@" << r.offset << ": " << reason);
}

} // namespace

TEST_CASE("metrics batch: effects come after their causes across partitions") {
  topics t("");
  auto batch = effects_first();

  // Record by record in poll order, three effects come before their causes: no sample.
  core::metrics_fold plain;
  for (auto& r : batch)
    REQUIRE(fold_record(plain, r, t, ""));
  auto p = plain.report();
  CHECK(p.causes_not_in_view == std::map<std::string, size_t>{
                                  {"router", 1}, {"synthesis", 1}, {"worker-math", 1}});

  core::metrics_fold merged;
  CHECK(fold_batch(merged, batch, t, "", no_undecodable) == 0);
  auto r = merged.report();
  CHECK(r.causes_not_in_view.empty());
  REQUIRE(r.per_role.size() == 5);
  CHECK(r.per_role.at("router").sum_ms == 4);
  CHECK(r.per_role.at("orchestrator").count == 3); // request, step completed, plan completed
  CHECK(r.per_role.at("orchestrator").sum_ms == 3);
  CHECK(r.per_role.at("worker-math").sum_ms == 5);
  CHECK(r.per_role.at("aggregator").sum_ms == 9);
  CHECK(r.per_role.at("synthesis").sum_ms == 5);
  CHECK(r.end_to_end.sum_ms == 25);
  CHECK(r.per_tool.at("math").sum_ms == 5);
  CHECK(r.events_by_topic == std::map<std::string, size_t>{
                               {"conversation-events", 5}, {"tool-invocation-requests", 1},
                               {"user-commands", 2}});
}

TEST_CASE("metrics batch: in the same millisecond a cause still goes first") {
  topics t("");
  auto rs2 = metrics_event(events::tool_invocation_resulted{"a/1/s2", 1, "s2", "math", true, "{}",
                                                            "", false, 0},
                           6, "worker-math", "a/1/s2/request/1"); // its request is not in this batch
  auto done1 = metrics_event(events::plan_step_completed{"s1", "ok", 1}, 6, "orchestrator",
                             "a/1/s1/result/1");
  auto rq3 = metrics_event(events::tool_invocation_requested{"a/1/s3", 1, "s3", "math", "{}", 99999},
                           6, "orchestrator", rs2.id);
  // The request's partition comes first in the poll, and its cause is second in its run.
  std::vector<storage::record> batch = {metrics_record("tool-invocation-requests", 7, rq3),
                                       metrics_record("conversation-events", 7, done1),
                                       metrics_record("conversation-events", 8, rs2)};
  core::metrics_fold m;
  CHECK(fold_batch(m, batch, t, "", no_undecodable) == 0);
  auto r = m.report();
  REQUIRE(r.per_role.count("orchestrator"));
  CHECK(r.per_role.at("orchestrator").count == 1);
  CHECK(r.per_role.at("orchestrator").sum_ms == 0);
  CHECK(r.causes_not_in_view == std::map<std::string, size_t>{
                                  {"orchestrator", 1}, {"worker-math", 1}});
}

TEST_CASE("metrics batch: dead letters by group, undecodable records counted, never folded") {
  topics t("p-");
  auto poison = raw_record("p-conversation-events", 1, 3, "{not json");
  auto letter = storage::make_dead_letter(poison, "p-orchestrator", "invalid JSON", "n1", 5);
  std::vector<storage::record> batch = {
    poison,
    raw_record("p-dead-letter-queue", 0, 0, storage::encode_dead_letter(letter)),
    raw_record("p-dead-letter-queue", 0, 1, R"({"redriveOf":"0:0","to":"x","fixed":false,"at":1})"),
    raw_record("p-dead-letter-queue", 0, 2, "\x01garbage"),
    raw_record("p-user-commands", 0, 0, "", "")};
  std::vector<std::string> seen;
  core::metrics_fold m;
  auto bad = fold_batch(m, batch, t, "p-", [&](const storage::record& r, const std::string&) {
    seen.push_back(r.topic + "@" + std::to_string(r.offset));
  });
  CHECK(bad == 3);
  // Undecodable records and letters have no time: they go first, in poll order.
  CHECK(seen == std::vector<std::string>{"p-conversation-events@3", "p-dead-letter-queue@2",
                                         "p-user-commands@0"});
  auto r = m.report();
  CHECK(r.dead_letters_by_group == std::map<std::string, size_t>{{"orchestrator", 1}});
  CHECK(r.undecodable_by_topic == std::map<std::string, size_t>{
                                    {"conversation-events", 1}, {"dead-letter-queue", 1},
                                    {"user-commands", 1}});
  CHECK(r.events_by_topic.empty());
  CHECK_FALSE(fold_record(m, poison, t, "p-"));
}

TEST_CASE("the pipeline's consumer groups and their topics") {
  auto groups = pipeline_groups(topics("p-"));
  REQUIRE(groups.size() == 17); // router, orchestrator, aggregator, synthesis, 13 tools
  CHECK(groups[0].name == "router");
  CHECK(groups[0].topics == std::vector<std::string>{"p-user-commands", "p-conversation-events"});
  CHECK(groups[1].name == "orchestrator");
  CHECK(groups[1].topics
        == std::vector<std::string>{"p-conversation-events", "p-tool-invocation-requests"});
  CHECK(groups[2].name == "aggregator");
  CHECK(groups[3].name == "synthesis");
  CHECK(groups[4].name == "tool-getProductInformation");
  CHECK(groups[10].name == "tool-orchestrationSynthesis");
  CHECK(groups[10].topics == std::vector<std::string>{"p-tool-invocation-requests"});
}

TEST_CASE("consumer lag: high watermark minus committed offset per group") {
  temp_dir dir;
  storage::embedded_options eo;
  eo.dir = dir.path + "/log";
  eo.partitions = 2;
  auto opened = storage::open_embedded_log(eo);
  REQUIRE(opened);
  auto& log = **opened;
  const std::string topic = "p-user-commands";
  for (int i = 0; i < 10; ++i)
    log.produce(topic, "k" + std::to_string(i), "v", [](outcome<storage::position> r) {
      REQUIRE(r);
    });
  storage::watermarks wm[2];
  for (int32_t p = 0; p < 2; ++p) {
    auto w = log.query_watermarks({topic, p});
    REQUIRE(w);
    wm[p] = *w;
  }
  REQUIRE(wm[0].high + wm[1].high == 10);
  auto groups = pipeline_groups(topics("p-"));
  std::string error;
  CHECK(consumer_lag(log, "p-", groups, &error).empty()); // no group committed yet
  CHECK(error.empty());

  // The router group handles partition 0 up to 1 record before its end; partition 1 never.
  auto c = log.subscribe("p-router", {topic}, storage::offset_reset::earliest);
  REQUIRE(c);
  for (int i = 0; i < 50 && (*c)->assignment().size() < 2; ++i)
    REQUIRE((*c)->poll(0, 10ms));
  REQUIRE((*c)->assignment().size() == 2);
  REQUIRE(wm[0].high >= 1);
  REQUIRE((*c)->commit({topic, 0}, log_offset{wm[0].high - 1}));
  auto lag = consumer_lag(log, "p-", groups, &error);
  CHECK(error.empty());
  CHECK(lag == std::map<std::string, int64_t>{{"router", 1 + wm[1].high}});
  (*c)->close();
}
