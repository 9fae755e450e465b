// The orchestrator's actors on CAF's deterministic `testing` scheduler: every message is run
// explicitly, and a fake producer records what the role emits. No log, no threads.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/orchestrator.hpp"
#include "actors/store_cover.hpp"
#include "model/ids.hpp"
#include "tests/actors/role_fixture.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

struct fixture : test_system {
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  orchestrator_actor orchestrator;
  int64_t offset = 0;

  fixture() {
    auto producer = sys->spawn(fake_producer, rec);
    core::orchestration_policy policy;
    policy.max_attempts = 2;
    orchestrator = spawn_orchestrator(*sys, policy, producer, "eventide/orchestrator/test");
    sched->run();
  }

  ~fixture() {
    caf::anon_send_exit(orchestrator, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void deliver(const std::string& conv, events::payload p, int64_t time_ms = 0) {
    caf::anon_send(orchestrator, inbound{input_event(conv, std::move(p), time_ms),
                                         "conversation-events", 0, offset++});
    sched->run();
  }

  // Feeds back what the orchestrator emitted (as the log would) so its fold sees it.
  void echo_emitted(size_t from) {
    auto n = rec->events.size();
    for (size_t i = from; i < n; ++i) {
      caf::anon_send(orchestrator, inbound{rec->events[i], "echo", 0, offset++});
      sched->run();
    }
  }
};

const char* parallel_plan = R"({"steps":[
  {"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},
  {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"}},
  {"id":"s3","tool":"weather","args":{"city":"Berlin"}}],"finalAnswerRequired":true})";

events::tool_invocation_resulted ok_result(const std::string& conv, const std::string& step,
                                           const std::string& tool, std::string json, int attempt = 1) {
  return {make_invocation_id(conv, 1, step).get(), attempt, step, tool, true, std::move(json), "", false, 1};
}

// An orchestrator with a snapshot store in a fresh directory, on the testing scheduler.
struct store_fixture : test_system {
  temp_dir dir{"eventide-orchestrator"};
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  std::shared_ptr<storage::kv_store> store;
  producer_actor producer;
  orchestrator_actor orch;

  core::orchestration_policy policy;

  store_fixture(std::function<int32_t(const std::string&)> partition_of_key,
                int64_t passivate_after_ms, std::shared_ptr<held_publishes> held = nullptr,
                core::orchestration_policy p = {})
    : policy(std::move(p)) {
    auto opened = storage::kv_store::open(dir.path + "/store");
    REQUIRE(opened);
    store = std::move(*opened);
    producer = held ? sys->spawn(holding_producer, rec, held) : sys->spawn(fake_producer, rec);
    orch = spawn_orchestrator(*sys, policy, producer,
                              "eventide/orchestrator/test", store, std::move(partition_of_key),
                              nullptr, passivate_after_ms);
    sched->run();
  }

  ~store_fixture() {
    caf::anon_send_exit(orch, caf::exit_reason::user_shutdown);
    sched->run();
    orch = nullptr;
    producer = nullptr;
    sys.reset(); // the store closes with the actors, before its directory goes
  }

  void deliver(const std::string& conv, events::payload p, int64_t offset) {
    caf::anon_send(orch, inbound{input_event(conv, std::move(p)), "conversation-events", 0, offset});
    sched->run();
  }

  template <class... Ts>
  void send(Ts&&... xs) {
    caf::anon_send(orch, std::forward<Ts>(xs)...);
    sched->run();
  }

  // The orchestrator's state digest (what SIGUSR1 writes).
  std::string digest() {
    auto d = std::make_shared<std::string>();
    sys->spawn([orch = orch, d](caf::event_based_actor* self) {
      self->request(orch, caf::infinite, digest_atom::value).then([d](const std::string& s) { *d = s; });
    });
    sched->run();
    return *d;
  }

  // Feeds emitted event `i` back, as the log would once it is committed and read.
  void echo(size_t i, int64_t offset) {
    caf::anon_send(orch, inbound{rec->events.at(i), "echo", 0, offset});
    sched->run();
  }

  // A new run of the orchestrator on the same store, as after kill -9 and a restart: what the
  // old one emitted is forgotten by the recorder; the new one starts in restore mode (with
  // `changed` as its policy, if given).
  void restart(std::function<int32_t(const std::string&)> partition_of_key,
               std::optional<core::orchestration_policy> changed = std::nullopt) {
    caf::anon_send_exit(orch, caf::exit_reason::kill);
    sched->run();
    rec->events.clear();
    if (changed)
      policy = *changed;
    orch = spawn_orchestrator(*sys, policy, producer, "eventide/orchestrator/test", store,
                              std::move(partition_of_key), nullptr, 0);
    sched->run();
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "actors: orchestrator in restore mode folds without emitting") {
  deliver("c1", events::plan_generated{1, parallel_plan, "test", "test", 0});
  CHECK(rec->events.empty());
  caf::anon_send(orchestrator, live_atom::value, std::vector<int32_t>{0});
  sched->run();
  // Going live emits what the restored state implies: both independent steps, in parallel.
  CHECK(rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                 "ToolInvocationRequested:s3:1"});
}

TEST_CASE_METHOD(fixture, "actors: orchestrator drives a DAG and resolves placeholders") {
  caf::anon_send(orchestrator, live_atom::value, std::vector<int32_t>{0});
  sched->run();
  deliver("c2", events::plan_generated{1, parallel_plan, "test", "test", 0});
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                   "ToolInvocationRequested:s3:1"});
  echo_emitted(0);
  CHECK(rec->events.size() == 2); // echoes of its own requests change nothing
  deliver("c2", ok_result("c2", "s1", "getProductInformation", R"({"price":1299,"currency":"USD"})"));
  REQUIRE(rec->types().size() == 4);
  // Newly ready steps go out first, then the completion of the step that unblocked them.
  CHECK(rec->types()[2] == "ToolInvocationRequested:s2:1");
  CHECK(rec->types()[3] == "PlanStepCompleted:s1");
  auto& req = std::get<events::tool_invocation_requested>(rec->events[2].data);
  CHECK(req.args_json == R"({"from":"USD","to":"EUR","amount":1299})");
  CHECK(rec->events[2].causation_id == "c2/1/s1/result/1");
  deliver("c2", ok_result("c2", "s3", "weather", R"({"city":"Berlin"})"));
  deliver("c2", ok_result("c2", "s2", "exchangeRate", R"({"converted":1195.03})"));
  CHECK(rec->types() == std::vector<std::string>{
          "ToolInvocationRequested:s1:1", "ToolInvocationRequested:s3:1",
          "ToolInvocationRequested:s2:1", "PlanStepCompleted:s1", "PlanStepCompleted:s3",
          "PlanStepCompleted:s2",
          "PlanCompleted"});
  auto& done = std::get<events::plan_completed>(rec->events.back().data);
  CHECK(done.results_json
        == R"({"s1":{"price":1299,"currency":"USD"},"s2":{"converted":1195.03},"s3":{"city":"Berlin"}})");
  // Passivated: a late duplicate result emits nothing and spawns nothing that would.
  echo_emitted(2);
  deliver("c2", ok_result("c2", "s2", "exchangeRate", R"({"converted":1195.03})"));
  CHECK(rec->events.size() == 7);
}

TEST_CASE_METHOD(fixture, "actors: a retryable error is retried, then the plan fails") {
  caf::anon_send(orchestrator, live_atom::value, std::vector<int32_t>{0});
  sched->run();
  deliver("c3", events::plan_generated{1, R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})",
                                       "test", "test", 0});
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1"});
  events::tool_invocation_resulted err{make_invocation_id("c3", 1, "s1").get(), 1, "s1", "math",
                                       false, "null", "upstream timeout", true, 5};
  // The error is old enough that its backoff has passed: the retry goes out at once.
  deliver("c3", err, now_ms() - 60000);
  CHECK(rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                 "ToolInvocationRequested:s1:2"});
  err.attempt = 2;
  deliver("c3", err, now_ms() - 60000);
  CHECK(rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                 "ToolInvocationRequested:s1:2",
                                                 "PlanStepCompleted:s1", "PlanFailed"});
  auto& failed = std::get<events::plan_failed>(rec->events.back().data);
  CHECK(failed.failed_step == "s1");
  CHECK(failed.reason == "step s1 (math) failed after 2 attempts: upstream timeout");
}

TEST_CASE_METHOD(fixture, "actors: conversations are isolated from each other") {
  caf::anon_send(orchestrator, live_atom::value, std::vector<int32_t>{0});
  sched->run();
  const char* one_step = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2*3"}}]})";
  deliver("a", events::plan_generated{1, one_step, "test", "test", 0});
  deliver("b", events::plan_generated{1, one_step, "test", "test", 0});
  deliver("a", ok_result("a", "s1", "math", R"({"value":6})"));
  std::vector<std::string> subjects;
  for (auto& e : rec->events)
    subjects.push_back(e.subject + ":" + events::type_name(e.data));
  CHECK(subjects == std::vector<std::string>{"a:ToolInvocationRequested", "b:ToolInvocationRequested",
                                             "a:PlanStepCompleted", "a:PlanCompleted"});
}

TEST_CASE("actors: an idle running conversation leaves memory and comes back from its snapshot") {
  store_fixture f{nullptr, /*passivate_after_ms=*/1000};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("p", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  REQUIRE(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                     "ToolInvocationRequested:s3:1"});
  auto running = f.sys->registry().running();
  // The idle period passes: the conversation leaves memory (its snapshot is in the store).
  f.sched->trigger_timeouts();
  f.sched->run();
  CHECK(f.sys->registry().running() == running - 1);
  REQUIRE(f.store->get("s/p").value());
  // Its next record brings it back from the snapshot, and it carries on exactly.
  f.deliver("p", ok_result("p", "s1", "getProductInformation", R"({"price":1299,"currency":"USD"})"), 1);
  CHECK(f.sys->registry().running() == running);
  REQUIRE(f.rec->types().size() == 4);
  CHECK(f.rec->types()[2] == "ToolInvocationRequested:s2:1");
  CHECK(std::get<events::tool_invocation_requested>(f.rec->events[2].data).args_json
        == R"({"from":"USD","to":"EUR","amount":1299})");
  CHECK(f.rec->types()[3] == "PlanStepCompleted:s1");
}

TEST_CASE("actors: no snapshot is stored while a decision of the conversation is still in flight") {
  auto held = std::make_shared<held_publishes>();
  store_fixture f{nullptr, 0, held};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("h", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  REQUIRE(held->size() == 2); // s1 and s3 are requested, neither durable yet
  // The plan record comes again (at-least-once delivery): nothing new to decide. A snapshot now
  // would hold the two requests as made while they may never reach the log; a crash would then
  // lose them for good (the restored state thinks they were made).
  f.deliver("h", events::plan_generated{1, parallel_plan, "test", "test", 0}, 1);
  CHECK_FALSE(f.store->get("s/h").value());
  caf::anon_send(f.producer, serve_atom::value); // both become durable
  f.sched->run();
  CHECK(f.store->get("s/h").value()); // and then the snapshot is stored
}

TEST_CASE("actors: restore mode defers snapshots and keeps the coverage marker off until they are in") {
  store_fixture f{[](const std::string&) { return 0; }, 0};
  auto marker = [&] { return f.store->get(cover_key(0)).value().has_value(); };
  auto snapshot = [&] { return f.store->get("s/a").value(); };
  // First restore: records are folded and acknowledged, nothing is written yet.
  f.deliver("a", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  CHECK_FALSE(snapshot());
  CHECK_FALSE(marker());
  // Going live persists the deferred snapshot, then marks the partition covered.
  f.send(live_atom::value, std::vector<int32_t>{0});
  CHECK(snapshot());
  CHECK(marker());
  CHECK(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                   "ToolInvocationRequested:s3:1"});
  // Live records are persisted one by one.
  f.deliver("a", ok_result("a", "s3", "weather", R"({"city":"Berlin","temperatureC":7})"), 1);
  auto after_live_record = snapshot();
  REQUIRE(after_live_record);
  // A rebalance puts the role back into restore mode: the marker goes at once, since the
  // records folded from now on are not in the store until the next go-live.
  f.send(restore_atom::value);
  CHECK_FALSE(marker());
  f.deliver("a", ok_result("a", "s1", "getProductInformation", R"({"price":1299,"currency":"USD"})"), 2);
  CHECK(snapshot() == after_live_record);
  f.send(live_atom::value, std::vector<int32_t>{0});
  CHECK(snapshot() != after_live_record);
  CHECK(marker());
}

TEST_CASE("actors: a plan that can never run, read while restoring, still ends in PlanFailed") {
  // Issue 12: a cyclic PlanGenerated already in the log when the node starts is folded in
  // restore mode. The fold knew at once that the plan failed, and the conversation used to be
  // compacted as finished before PlanFailed was ever written: no record, for good.
  store_fixture f{[](const std::string&) { return 0; }, 0};
  const char* cyclic = R"({"steps":[
    {"id":"s1","tool":"math","args":{"expression":"1+{{steps.s2.result.value}}"}},
    {"id":"s2","tool":"math","args":{"expression":"2"},"dependsOn":["s1"]}]})";
  f.deliver("cy", events::plan_generated{1, cyclic, "test", "test", 0}, 0);
  CHECK(f.rec->events.empty());
  CHECK_FALSE(f.store->get("f/cy").value());
  f.send(live_atom::value, std::vector<int32_t>{0});
  REQUIRE(f.rec->types() == std::vector<std::string>{"PlanFailed"});
  CHECK(std::get<events::plan_failed>(f.rec->events[0].data).reason
        == "invalid plan: cycle: s1 -> s2 -> s1");
  // Compacted only once PlanFailed is back from the log: until then it may still be lost.
  CHECK_FALSE(f.store->get("f/cy").value());
  f.echo(0, 1);
  CHECK(f.store->get("f/cy").value());
}

TEST_CASE("actors: after a restart, a decision the log never got is made again with its id") {
  // Exactly-once on Kafka: the requests were delivered into a transaction and the snapshot
  // stored, then kill -9 aborted the transaction. The log has the plan only.
  auto partition = [](const std::string&) { return 0; };
  store_fixture f{partition, 0};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("x", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  REQUIRE(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                     "ToolInvocationRequested:s3:1"});
  const auto first = f.rec->events;
  // s3's request did reach the log (committed before the crash); s1's did not.
  f.echo(1, 1);
  f.restart(partition);
  f.send(restore_atom::value);
  f.deliver("x", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  f.send(inbound{first[1], "echo", 0, 1});
  CHECK(f.rec->events.empty()); // restore mode decides nothing
  f.send(live_atom::value, std::vector<int32_t>{0});
  // Going live makes the lost one again, the same event (same id, same arguments and deadline),
  // and not the one the log has.
  REQUIRE(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1"});
  CHECK(f.rec->events[0].id == first[0].id);
  auto& again = std::get<events::tool_invocation_requested>(f.rec->events[0].data);
  auto& lost = std::get<events::tool_invocation_requested>(first[0].data);
  CHECK(again.args_json == lost.args_json);
  CHECK(again.deadline == lost.deadline);
  CHECK(again.attempt == lost.attempt);
  // Once it is back from the log, nothing is made again, by this run or the next.
  f.echo(0, 2);
  f.restart(partition);
  f.send(live_atom::value, std::vector<int32_t>{0});
  CHECK(f.rec->events.empty());
}

TEST_CASE("actors: a running conversation leaves memory only once the idle period passes without a record") {
  store_fixture f{nullptr, /*passivate_after_ms=*/1000};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("p", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  auto running = f.sys->registry().running();
  // Half the period later a record comes: the check due at 1000 ms finds the conversation
  // active 500 ms ago and looks again at 1500 ms.
  f.sched->clock().current_time += std::chrono::milliseconds(500);
  f.deliver("p", ok_result("p", "s3", "weather", R"({"city":"Berlin","temperatureC":7})"), 1);
  REQUIRE(f.sched->trigger_timeout());
  f.sched->run();
  CHECK(f.sys->registry().running() == running);
  // Quiet for the whole period: it leaves memory.
  REQUIRE(f.sched->trigger_timeout());
  f.sched->run();
  CHECK(f.sys->registry().running() == running - 1);
  REQUIRE(f.store->get("s/p").value());
}

TEST_CASE("actors: a conversation that left memory does not repeat what is still on its way") {
  // Same run: a decision not yet back from the log is in flight (a transaction not committed
  // yet, or a record not read yet), never lost; making it again would write it twice.
  store_fixture f{nullptr, /*passivate_after_ms=*/1000};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("q", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  REQUIRE(f.rec->events.size() == 2);
  f.sched->trigger_timeouts(); // idle: it leaves memory with both requests unlogged
  f.sched->run();
  f.deliver("q", ok_result("q", "s3", "weather", R"({"city":"Berlin","temperatureC":7})"), 1);
  CHECK(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                   "ToolInvocationRequested:s3:1",
                                                   "PlanStepCompleted:s3"});
}

TEST_CASE("actors: going live leaves a running conversation in the store until its record or its wake-up") {
  auto partition = [](const std::string&) { return 0; };
  core::orchestration_policy policy;
  policy.step_timeout_ms = 1000; // s1's and s3's requests are overdue 1 s after they went out
  store_fixture f{partition, 0, nullptr, policy};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("w", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  REQUIRE(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1",
                                                     "ToolInvocationRequested:s3:1"});
  f.echo(0, 1);
  f.echo(1, 2);
  REQUIRE(f.store->get("w/w").value());
  const auto before = f.digest();
  REQUIRE(before.rfind("w conversation", 0) == 0);
  f.restart(partition);
  auto running = f.sys->registry().running();
  f.send(live_atom::value, std::vector<int32_t>{0});
  // Nothing due: the conversation stays in the store, and is still part of the state.
  CHECK(f.sys->registry().running() == running);
  CHECK(f.rec->events.empty());
  CHECK(f.digest() == before);
  // Its wake-up (the requests' deadline) loads it: both overdue requests go out again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1050));
  f.sched->trigger_timeouts();
  f.sched->run();
  CHECK(f.sys->registry().running() == running + 1);
  CHECK(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:2",
                                                   "ToolInvocationRequested:s3:2"});
}

TEST_CASE("actors: a record that a new turn refuses leaves nothing in the state digest") {
  // The registry makes a turn's actor for its first record; when the turn refuses that record
  // (its bridge letters it) the actor holds nothing. A replay that passes over the lettered
  // record never makes it, and the digests before and after a lost store must agree.
  auto partition = [](const std::string&) { return 0; };
  store_fixture f{partition, 0};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("w", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  const auto before = f.digest();
  REQUIRE(before.rfind("w conversation", 0) == 0);
  auto running = f.sys->registry().running();
  f.deliver("ghost", events::plan_compensated{}, 1); // no plan: refused
  REQUIRE(f.sys->registry().running() == running + 1); // its actor exists
  CHECK(f.digest() == before);
}

TEST_CASE("actors: going live loads a stored conversation that is due, or stored under another policy") {
  auto partition = [](const std::string&) { return 0; };
  store_fixture f{partition, 0};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("d", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  f.echo(0, 1);
  f.echo(1, 2);
  // Another policy: the stored wake hints do not hold for it; the conversation is loaded (and
  // its requests are not overdue yet: it decides nothing).
  auto other = f.policy;
  other.max_attempts += 1;
  f.restart(partition, other);
  auto running = f.sys->registry().running();
  f.send(live_atom::value, std::vector<int32_t>{0});
  CHECK(f.sys->registry().running() == running + 1);
  CHECK(f.rec->events.empty());
}

TEST_CASE("actors: after a restart, a decision the log never got is made again by going live alone") {
  // As above, but the log holds nothing of the conversation past the checkpoint: no record of
  // it is replayed. Its stored hint says "due at once" (a decision unlogged), so going live
  // loads it and makes the lost one again.
  auto partition = [](const std::string&) { return 0; };
  store_fixture f{partition, 0};
  f.send(live_atom::value, std::vector<int32_t>{0});
  f.deliver("u", events::plan_generated{1, parallel_plan, "test", "test", 0}, 0);
  REQUIRE(f.rec->events.size() == 2);
  const auto first = f.rec->events;
  f.echo(1, 1); // s3's request reached the log, s1's did not
  f.restart(partition);
  f.send(live_atom::value, std::vector<int32_t>{0});
  REQUIRE(f.rec->types() == std::vector<std::string>{"ToolInvocationRequested:s1:1"});
  CHECK(f.rec->events[0].id == first[0].id);
}
