// The metrics role actor (actors/metrics_role.cpp) over a real embedded log: it reads every
// partition from its first record, goes live once caught up, keeps folding new records, and
// reports through health_atom. The role is detached and polls the log itself, so this test
// runs on CAF's default scheduler and waits (10 s at most) for the report it expects. Its
// CAF-free helpers are tested in metrics_role_helpers_test.cpp.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/error.hpp"
#include "actors/fwd.hpp"
#include "actors/logging.hpp"
#include "actors/metrics_role.hpp"
#include "core/json.hpp"
#include "storage/dead_letter.hpp"
#include "storage/embedded_log.hpp"
#include "tests/actors/metrics_records.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;
using namespace eventide::testing;
using namespace std::chrono_literals;

namespace {

struct metrics_fixture {
  temp_dir dir{"eventide-metrics"};
  std::shared_ptr<storage::log> log;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::vector<metrics_actor> roles;

  metrics_fixture() {
    init_logging("error");
    storage::embedded_options eo;
    eo.dir = dir.path + "/log";
    eo.partitions = 1;
    auto opened = storage::open_embedded_log(eo);
    REQUIRE(opened);
    log = std::move(*opened);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  ~metrics_fixture() {
    for (auto& r : roles)
      stop(r);
    roles.clear();
    sys.reset(); // waits for the detached roles; the log closes after them
  }

  void write(const storage::record& r) {
    log->produce(r.topic, r.key, r.value, [](outcome<storage::position> p) { REQUIRE(p); });
  }

  // The whole answered conversation, a poison event, a dead letter and a redrive marker.
  void write_history() {
    for (auto& r : effects_first())
      write(r);
    auto poison = raw_record("conversation-events", 0, 0, "{not json");
    write(poison);
    write(raw_record("dead-letter-queue", 0, 0,
                     storage::encode_dead_letter(storage::make_dead_letter(
                       poison, "orchestrator", "invalid JSON", "n1", 5))));
    write(raw_record("dead-letter-queue", 0, 0,
                     R"({"redriveOf":"0:0","to":"x","fixed":false,"at":1})"));
  }

  metrics_actor start() {
    metrics_role_config mc;
    mc.log = log;
    mc.poll_timeout = 10ms;
    mc.lag_interval = 10ms;
    auto role = caf::actor_cast<metrics_actor>(spawn_metrics_role(*sys, mc));
    roles.push_back(role);
    return role;
  }

  void stop(const metrics_actor& role) {
    caf::scoped_actor self{*sys};
    self->send_exit(role, caf::exit_reason::user_shutdown);
    self->wait_for(role);
  }

  json::document health(const metrics_actor& role) {
    caf::scoped_actor self{*sys};
    std::string out;
    self->request(role, std::chrono::seconds(5), health_atom::value)
      .receive([&](const std::string& h) { out = h; },
               [&](caf::error& err) { FAIL("health: " << describe(err)); });
    auto d = json::parse(out);
    REQUIRE(d);
    return std::move(*d);
  }

  // The report once `ready` holds of it (the last one seen after 10 s).
  json::document health_when(const metrics_actor& role,
                             const std::function<bool(const json::document&)>& ready) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    auto d = health(role);
    while (!ready(d) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
      d = health(role);
    }
    return d;
  }

  // Commits `next_offset` for `group` on partition 0 of each topic (as its consumer bridge does).
  void commit(const std::string& group, const std::vector<std::pair<std::string, int64_t>>& offsets) {
    std::vector<std::string> topics;
    for (auto& [topic, offset] : offsets)
      topics.push_back(topic);
    auto c = log->subscribe(group, topics, storage::offset_reset::earliest);
    REQUIRE(c);
    for (int i = 0; i < 100 && (*c)->assignment().size() < topics.size(); ++i)
      REQUIRE((*c)->poll(0, 10ms));
    REQUIRE((*c)->assignment().size() == topics.size());
    for (auto& [topic, offset] : offsets)
      REQUIRE((*c)->commit({topic, 0}, log_offset{offset}));
    (*c)->close();
  }
};

// The JSON text at `path` of `d`, "<missing>" when there is none.
std::string at(const json::document& d, const char* path) {
  auto v = json::find_path(d, path);
  return v ? json::dump(*v) : "<missing>";
}

std::function<bool(const json::document&)> live_with(size_t records) {
  return [records](const json::document& d) {
    return at(d, "live") == "true" && at(d, "records") == std::to_string(records);
  };
}

} // namespace

TEST_CASE_METHOD(metrics_fixture, "metrics role: projects the log from its first record, then folds new records live") {
  write_history();
  auto role = start();
  auto d = health_when(role, live_with(11));
  REQUIRE(at(d, "live") == "true");
  REQUIRE(at(d, "records") == "11");
  CHECK(at(d, "conversations") == "1");
  CHECK(at(d, "answered") == "1");
  CHECK(at(d, "failed") == "0");
  CHECK(at(d, "open") == "0");
  CHECK(at(d, "eventsByType")
        == R"({"FinalAnswerSynthesized":1,"PlanCompleted":1,"PlanGenerated":1,)"
           R"("PlanStepCompleted":1,"SynthesizeFinalAnswerRequested":1,)"
           R"("ToolInvocationRequested":1,"ToolInvocationResulted":1,"UserQueryReceived":1})");
  CHECK(at(d, "eventsByTopic")
        == R"({"conversation-events":5,"tool-invocation-requests":1,"user-commands":2})");
  // Read in one batch, every effect comes after its cause: a sample for each role.
  CHECK(at(d, "causesNotInView") == "{}");
  CHECK(at(d, "endToEnd.count") == "1");
  CHECK(at(d, "endToEnd.sumMs") == "25.0");
  CHECK(at(d, "tools.math.count") == "1");
  CHECK(at(d, "tools.math.sumMs") == "5.0");
  CHECK(at(d, "roles.router.sumMs") == "4.0");
  CHECK(at(d, "roles.orchestrator.count") == "3");
  CHECK(at(d, "roles.orchestrator.sumMs") == "3.0");
  CHECK(at(d, "roles.worker-math.sumMs") == "5.0");
  CHECK(at(d, "roles.aggregator.sumMs") == "9.0");
  CHECK(at(d, "roles.synthesis.sumMs") == "5.0");
  CHECK(at(d, "deadLetters") == R"({"orchestrator":1})");
  CHECK(at(d, "undecodable") == R"({"conversation-events":1})");
  CHECK(at(d, "consumerLag") == "{}"); // no group committed anything
  CHECK(at(d, "firstMs") == "1000");
  CHECK(at(d, "lastMs") == "1025");
  CHECK(at(d, "lastError") == R"("")");

  // Live: a new question is folded as it arrives.
  auto q = metrics_event(events::user_query_received{"b", "u", "What is 2+2?", 2000}, 2000, "ingress");
  q.subject = "b";
  q.id = "b/query";
  write(raw_record("user-commands", 0, 0, events::encode(q).value(), "b"));
  d = health_when(role, live_with(12));
  REQUIRE(at(d, "records") == "12");
  CHECK(at(d, "conversations") == "2");
  CHECK(at(d, "answered") == "1");
  CHECK(at(d, "open") == "1");
  CHECK(at(d, "eventsByTopic")
        == R"({"conversation-events":5,"tool-invocation-requests":1,"user-commands":3})");
  CHECK(at(d, "lastMs") == "2000");
}

TEST_CASE_METHOD(metrics_fixture, "metrics role: a restarted role rebuilds the same report from the log") {
  write_history();
  auto first = start();
  REQUIRE(at(health_when(first, live_with(11)), "records") == "11");
  auto q = metrics_event(events::user_query_received{"a", "u", "What is 1+1?", 1000}, 1000, "ingress");
  write(raw_record("user-commands", 0, 0, events::encode(q).value())); // redelivered question
  auto before = health_when(first, live_with(12));
  REQUIRE(at(before, "records") == "12");
  CHECK(at(before, "duplicates") == "1");
  stop(first);

  auto second = start();
  auto after = health_when(second, live_with(12));
  REQUIRE(at(after, "records") == "12");
  // Rates are about the time since each role went live: all else is the log's.
  before.RemoveMember("eventsPerSecondByTopic");
  after.RemoveMember("eventsPerSecondByTopic");
  CHECK(json::dump(after) == json::dump(before));
}

TEST_CASE_METHOD(metrics_fixture, "metrics role: consumer lag per group follows its commits") {
  write_history();
  commit("router", {{"user-commands", 1}, {"conversation-events", 6}});
  commit("orchestrator", {{"conversation-events", 6}, {"tool-invocation-requests", 1}});
  auto role = start();
  auto d = health_when(role, [](const json::document& d) {
    return at(d, "live") == "true" && at(d, "consumerLag") == R"({"orchestrator":0,"router":1})";
  });
  CHECK(at(d, "consumerLag") == R"({"orchestrator":0,"router":1})");
  commit("router", {{"user-commands", 2}, {"conversation-events", 6}});
  d = health_when(role, [](const json::document& d) {
    return at(d, "consumerLag") == R"({"orchestrator":0,"router":0})";
  });
  CHECK(at(d, "consumerLag") == R"({"orchestrator":0,"router":0})");
  CHECK(at(d, "lastError") == R"("")");
}
