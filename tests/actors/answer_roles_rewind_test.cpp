// The synthesis role after an aborted transaction (exactly-once on Kafka): the consumer bridge
// revokes the role's partitions and replays them; an answer decided in the aborted transaction
// is not in the log, so the replay must decide it again. On CAF's deterministic scheduler with
// a fake producer that records what the role emits.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/answer_roles.hpp"
#include "actors/bridges.hpp"
#include "actors/emit.hpp"
#include "actors/logging.hpp"
#include "core/event_ids.hpp"

using namespace eventide;

namespace {

producer_actor::behavior_type recording_producer(producer_actor::pointer,
                                                 std::shared_ptr<std::vector<events::event>> out) {
  return {
    [out](publish_atom, const events::event& e) -> storage::position {
      out->push_back(e);
      return {0, static_cast<int64_t>(out->size() - 1)};
    },
    [](publish_atom, const std::string&, const std::string&, const std::string&) {
      return storage::position{0, 0};
    },
    [](serve_atom) {},
    [](health_atom) { return std::string("{}"); },
  };
}

struct synthesis_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<std::vector<events::event>> emitted
    = std::make_shared<std::vector<events::event>>();
  role_actor role;
  int64_t offset = 0;

  synthesis_fixture() {
    init_logging("error");
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    role = spawn_synthesis(*sys, sys->spawn(recording_producer, emitted), "eventide/synthesis/t",
                           nullptr);
    sched->run();
  }
  ~synthesis_fixture() {
    caf::anon_send_exit(role, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void deliver(const events::event& e) {
    caf::anon_send(role, inbound{e, "user-commands", 0, offset++});
    sched->run();
  }
  void go_live() {
    caf::anon_send(role, live_atom::value, std::vector<int32_t>{0});
    sched->run();
  }
  void rewind() { // what the bridge does after an aborted transaction
    caf::anon_send(role, revoke_atom::value, std::vector<int32_t>{0});
    caf::anon_send(role, restore_atom::value);
    sched->run();
    offset = 0;
  }
};

events::event request(const std::string& conv) {
  events::synthesize_final_answer_requested r{"What is 2 plus 100?", 1,
                                              R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2 + 100"}}]})",
                                              R"({"s1":{"expression":"2 + 100","value":102}})", "", ""};
  return make_event(conv, "eventide/aggregator/t", conv + "/plan/1", r);
}

} // namespace

TEST_CASE("synthesis decides an answer again when the transaction that held it was aborted",
          "[actors][synthesis][exactly-once]") {
  synthesis_fixture f;
  f.go_live();
  auto req = request("c1");
  f.deliver(req);
  REQUIRE(f.emitted->size() == 1);
  auto first = std::get<events::final_answer_synthesized>(f.emitted->at(0).data);
  CHECK(first.answer.rfind("The answer is 102 (2 + 100).", 0) == 0);

  // Aborted: the log holds the request, not the answer. Replay, then live.
  f.rewind();
  f.deliver(req);
  f.go_live();
  REQUIRE(f.emitted->size() == 2);
  CHECK(f.emitted->at(1).id == f.emitted->at(0).id); // the same decision, the same id
  CHECK(std::get<events::final_answer_synthesized>(f.emitted->at(1).data).answer == first.answer);

  // Committed this time: the replay sees the answer and decides nothing.
  auto answer = f.emitted->at(1);
  f.rewind();
  f.deliver(req);
  f.deliver(answer);
  f.go_live();
  CHECK(f.emitted->size() == 2);
}
