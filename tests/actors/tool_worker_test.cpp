// The worker role (actors/tool_worker.cpp) on CAF's deterministic `testing` scheduler: the
// worker and its tool runners with real offline tools (providers::tool_factory) or a scripted
// one, a real ledger in a fresh directory, and a fake producer that records what the worker
// emits. Tool runs are counted where they happen, in the EVENTIDE_EFFECT_LOG side file that
// providers::tool::run writes (tests/effect_log.hpp). No log, no threads.
#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "actors/tool_worker.hpp"
#include "model/ids.hpp"
#include "storage/kv_store.hpp"
#include "tests/actors/role_fixture.hpp"
#include "tests/effect_log.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

const char* source = "eventide/worker-math/test";

// A tool that answers from a script, one output per run (the last one repeats).
class scripted_tool final : public providers::tool {
 public:
  explicit scripted_tool(std::deque<providers::tool_output> script) : script_(std::move(script)) {}
  std::string name() const override { return "flaky"; }
  bool may_block() const override { return false; }
  providers::tool_output invoke(const std::string&) override {
    auto out = script_.front();
    if (script_.size() > 1)
      script_.pop_front();
    return out;
  }

 private:
  std::deque<providers::tool_output> script_;
};

struct worker_fixture : role_fixture {
  effect_log effects{dir.path + "/effects.log"};
  std::shared_ptr<storage::kv_store> ledger = open_store("worker-ledger");
  role_actor worker_actor;
  std::vector<caf::actor> runners;

  worker_fixture() : role_fixture("eventide-worker") {}
  ~worker_fixture() { stop(); }

  // Kills the worker and its runners, as kill -9 would: only the ledger remains.
  void stop() {
    for (auto& r : runners)
      caf::anon_send_exit(r, caf::exit_reason::kill);
    if (worker_actor)
      caf::anon_send_exit(worker_actor, caf::exit_reason::kill);
    run();
    runners.clear();
    worker_actor = nullptr;
  }

  // The worker for `tool` as the node spawns it, with the offline tools of the source tree.
  void spawn_offline(const std::string& tool, size_t concurrency = 1) {
    providers::tool_factory tools(EVENTIDE_SOURCE_DIR, dir.path, {}, nullptr, nullptr);
    auto w = spawn_worker(*sys, tool, tools, concurrency, ledger, source, producer, runners);
    REQUIRE(w);
    worker_actor = *w;
    run();
  }

  // A worker for "flaky" whose one runner runs `tool`.
  void spawn_scripted(std::shared_ptr<providers::tool> tool) {
    auto runner = sys->spawn(tool_runner, std::move(tool), ledger, std::string(source));
    runners.push_back(caf::actor_cast<caf::actor>(runner));
    worker_actor = sys->spawn(worker, std::string("flaky"), std::vector<tool_runner_actor>{runner},
                              producer);
    run();
  }

  void deliver(const events::event& e) { deliver_to(worker_actor, e); }
};

events::event request(const std::string& conv, const std::string& tool, std::string args,
                      int attempt = 1) {
  return input_event(conv, events::tool_invocation_requested{
                             make_invocation_id(conv, 1, "s1").get(), attempt, "s1", tool,
                             std::move(args), now_ms() + 60000});
}

const events::tool_invocation_resulted& result_of(const events::event& e) {
  return std::get<events::tool_invocation_resulted>(e.data);
}

} // namespace

TEST_CASE_METHOD(worker_fixture, "worker: a math request runs the tool once and emits its result") {
  spawn_offline("math");
  auto req = request("c1", "math", R"({"expression":"2 + 100"})");
  deliver(req);
  CHECK(*replies == std::vector<std::string>{"ok"});
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationResulted:s1:1"});
  auto& e = rec->events[0];
  CHECK(e.id == "c1/1/s1/result/1");
  CHECK(e.subject == "c1");
  CHECK(e.source == source);
  CHECK(e.causation_id == "c1/1/s1/request/1");
  auto& r = result_of(e);
  CHECK(r.invocation_id == "c1/1/s1");
  CHECK(r.attempt == 1);
  CHECK(r.step_id == "s1");
  CHECK(r.tool == "math");
  CHECK(r.ok);
  CHECK(r.result_json == R"({"expression":"2 + 100","value":102})");
  CHECK(r.error.empty());
  CHECK_FALSE(r.retryable);
  CHECK(effects.lines() == std::vector<std::string>{"math c1/1/s1 1"});
  // The ledger holds exactly what was emitted.
  auto entry = ledger->get("r/c1/1/s1");
  REQUIRE(entry);
  REQUIRE(*entry);
  CHECK(**entry == events::encode(e).value());
}

TEST_CASE_METHOD(worker_fixture, "worker: a duplicate request is answered from the ledger and the tool runs once") {
  spawn_offline("math", 2); // two runners: the duplicate goes to the other one
  auto req = request("dup", "math", R"({"expression":"6 * 7"})");
  deliver(req);
  REQUIRE(rec->events.size() == 1);
  auto first = events::encode(rec->events[0]).value();
  CHECK(result_of(rec->events[0]).result_json == R"({"expression":"6 * 7","value":42})");

  deliver(req); // redelivered before the commit
  REQUIRE(rec->events.size() == 2);
  CHECK(events::encode(rec->events[1]).value() == first);
  CHECK(effects.runs("dup/1/s1") == 1);

  // After kill -9 and a restart: new runners, the same ledger.
  stop();
  spawn_offline("math");
  deliver(req);
  REQUIRE(rec->events.size() == 3);
  CHECK(events::encode(rec->events[2]).value() == first);
  CHECK(effects.runs("dup/1/s1") == 1);
  CHECK(*replies == std::vector<std::string>{"ok", "ok", "ok"});
}

TEST_CASE_METHOD(worker_fixture, "worker: a failing tool yields a permanent error result, final for its invocation") {
  spawn_offline("math");
  auto req = request("bad", "math", R"({"expression":"2 +"})");
  deliver(req);
  CHECK(*replies == std::vector<std::string>{"ok"});
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationResulted:s1:1"});
  auto& r = result_of(rec->events[0]);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.retryable);
  CHECK(r.result_json == "null");
  CHECK(r.error == "math: cannot evaluate '2 +': unexpected end of expression at position 4");
  auto first = events::encode(rec->events[0]).value();
  // A permanent error is final: a later attempt gets the recorded result, the tool is not run.
  deliver(request("bad", "math", R"({"expression":"2 +"})", 2));
  REQUIRE(rec->events.size() == 2);
  CHECK(events::encode(rec->events[1]).value() == first);
  CHECK(effects.lines() == std::vector<std::string>{"math bad/1/s1 1"});
}

TEST_CASE_METHOD(worker_fixture, "worker: a retryable error is run again only for a newer attempt") {
  spawn_scripted(std::make_shared<scripted_tool>(std::deque<providers::tool_output>{
    providers::tool_output::transient_error("upstream timeout"),
    providers::tool_output::success(R"({"value":1})")}));
  deliver(request("fl", "flaky", "{}", 1));
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationResulted:s1:1"});
  auto& failed = result_of(rec->events[0]);
  CHECK_FALSE(failed.ok);
  CHECK(failed.retryable);
  CHECK(failed.error == "upstream timeout");
  CHECK(failed.result_json == "null");
  auto first = events::encode(rec->events[0]).value();
  // The same attempt again: the recorded error, no second run.
  deliver(request("fl", "flaky", "{}", 1));
  REQUIRE(rec->events.size() == 2);
  CHECK(events::encode(rec->events[1]).value() == first);
  CHECK(effects.lines() == std::vector<std::string>{"flaky fl/1/s1 1"});
  // The orchestrator's retry (attempt 2) runs the tool again.
  deliver(request("fl", "flaky", "{}", 2));
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationResulted:s1:1",
                                                   "ToolInvocationResulted:s1:1",
                                                   "ToolInvocationResulted:s1:2"});
  CHECK(rec->events[2].id == "fl/1/s1/result/2");
  CHECK(rec->events[2].causation_id == "fl/1/s1/request/2");
  CHECK(result_of(rec->events[2]).ok);
  CHECK(result_of(rec->events[2]).result_json == R"({"value":1})");
  CHECK(effects.lines() == std::vector<std::string>{"flaky fl/1/s1 1", "flaky fl/1/s1 2"});
  CHECK(*replies == std::vector<std::string>{"ok", "ok", "ok"});
}

TEST_CASE_METHOD(worker_fixture, "worker: a result that is no JSON is reported as a permanent error") {
  spawn_scripted(std::make_shared<scripted_tool>(std::deque<providers::tool_output>{
    providers::tool_output::success("{not json")}));
  deliver(request("arr", "flaky", "{}"));
  REQUIRE(rec->types() == std::vector<std::string>{"ToolInvocationResulted:s1:1"});
  auto& r = result_of(rec->events[0]);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.retryable);
  CHECK(r.result_json == "null");
  CHECK(r.error
        == "tool produced an invalid result: encode ToolInvocationResulted: result_json is not "
           "valid JSON (invalid JSON at byte 1: Missing a name for object member.)");
  CHECK(effects.runs("arr/1/s1") == 1);
}

TEST_CASE_METHOD(worker_fixture, "worker: requests for other tools and other records are passed over") {
  spawn_offline("math");
  deliver(request("w", "weather", R"({"city":"Berlin"})"));
  deliver(input_event("w", events::plan_generated{1, R"({"steps":[]})", "test", "test", 0}));
  CHECK(*replies == std::vector<std::string>{"ok", "ok"});
  CHECK(rec->events.empty());
  CHECK(effects.lines().empty());
  CHECK_FALSE(ledger->get("r/w/1/s1").value());
}
