// What the actor-level role tests share: an actor system on CAF's deterministic `testing`
// scheduler (every message runs when the test says so, no threads), fake producers that record
// what a role emits instead of writing a log, and a fake consumer bridge that hands a role one
// record and keeps its answer (ok, or the error that would dead-letter the record); and
// role_fixture, which puts them together.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include <catch2/catch.hpp>

#include "actors/bridges.hpp"
#include "actors/error.hpp"
#include "actors/fwd.hpp"
#include "actors/logging.hpp"
#include "core/event_ids.hpp"
#include "schemas/codec.hpp"
#include "storage/kv_store.hpp"
#include "tests/temp_dir.hpp"

namespace eventide::testing {

/// What a fake producer was asked to publish, in order.
struct recorded {
  std::vector<events::event> events;

  /// "Type", with the step (and attempt) for requests, results and step completions:
  /// "ToolInvocationRequested:s1:1", "ToolInvocationResulted:s1:1", "PlanStepCompleted:s1".
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (auto& e : events) {
      std::string s = events::type_name(e.data);
      if (auto r = std::get_if<events::tool_invocation_requested>(&e.data))
        s += ":" + r->step_id + ":" + std::to_string(r->attempt);
      else if (auto t = std::get_if<events::tool_invocation_resulted>(&e.data))
        s += ":" + t->step_id + ":" + std::to_string(t->attempt);
      else if (auto c = std::get_if<events::plan_step_completed>(&e.data))
        s += ":" + c->step_id;
      out.push_back(s);
    }
    return out;
  }
};

/// A producer bridge whose log takes every event at once. Like the real one, it refuses an event
/// its schema rejects (ec::invalid_event), which is then not recorded.
inline producer_actor::behavior_type fake_producer(producer_actor::pointer,
                                                   std::shared_ptr<recorded> rec) {
  return {
    [rec](publish_atom, const events::event& e) -> caf::result<storage::position> {
      if (auto bytes = events::encode(e); !bytes)
        return make_error(ec::invalid_event, bytes.error());
      rec->events.push_back(e);
      return storage::position{partition_id{0},
                               log_offset{static_cast<int64_t>(rec->events.size() - 1)}};
    },
    [](publish_atom, const std::string&, const std::string&, const std::string&) {
      return storage::position{partition_id{0}, log_offset{0}};
    },
    [](serve_atom) {},
    [](health_atom) { return std::string("{}"); },
  };
}

/// Publishes still in flight: the holding producer records each (valid) event and answers only
/// when the test sends it serve_atom (a slow broker).
using held_publishes = std::vector<caf::typed_response_promise<storage::position>>;

inline producer_actor::behavior_type holding_producer(producer_actor::pointer self,
                                                      std::shared_ptr<recorded> rec,
                                                      std::shared_ptr<held_publishes> held) {
  return {
    [self, rec, held](publish_atom, const events::event& e) -> caf::result<storage::position> {
      if (auto bytes = events::encode(e); !bytes)
        return make_error(ec::invalid_event, bytes.error());
      rec->events.push_back(e);
      held->push_back(self->make_response_promise<storage::position>());
      return held->back();
    },
    [](publish_atom, const std::string&, const std::string&, const std::string&) {
      return storage::position{partition_id{0}, log_offset{0}};
    },
    [held](serve_atom) {
      for (auto& p : *held)
        p.deliver(storage::position{partition_id{0}, log_offset{0}});
      held->clear();
    },
    [](health_atom) { return std::string("{}"); },
  };
}

/// An actor system on the testing scheduler; `run()` runs every pending message.
struct test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  test_system() {
    init_logging("error");
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }

  void run() { sched->run(); }
};

/// An event of `conv` as it comes out of the log: its deterministic id, source "test".
inline events::event input_event(const std::string& conv, events::payload p, int64_t time_ms = 0) {
  events::event e;
  e.id = core::deterministic_id(conv, p);
  e.source = "test";
  e.time_ms = time_ms ? time_ms : now_ms();
  e.subject = conv;
  e.data = std::move(p);
  return e;
}

/// Hands `in` to `role` as its consumer bridge does (a request) and appends the answer to
/// `replies` when it comes: "ok", or the error's text.
inline void hand(caf::actor_system& sys, const role_actor& role, inbound in,
                 std::shared_ptr<std::vector<std::string>> replies) {
  sys.spawn([role, in = std::move(in), replies](caf::event_based_actor* self) mutable {
    self->request(role, caf::infinite, std::move(in))
      .then([replies](caf::ok_atom) { replies->push_back("ok"); },
            [replies](caf::error& err) { replies->push_back(describe(err)); });
  });
}

/// A role under test: the testing scheduler, a fake producer recording what the role emits, the
/// answers the role gave its (fake) consumer bridge, and a fresh directory for its stores.
struct role_fixture : test_system {
  temp_dir dir;
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  std::shared_ptr<std::vector<std::string>> replies = std::make_shared<std::vector<std::string>>();
  producer_actor producer;
  int64_t offset = 0;

  explicit role_fixture(const std::string& name) : dir(name) {
    producer = sys->spawn(fake_producer, rec);
  }

  /// Derived fixtures stop their roles first; stores close with the actors, before `dir` goes.
  ~role_fixture() {
    producer = nullptr;
    sys.reset();
  }

  /// A store in `dir` (a router or worker ledger).
  std::shared_ptr<storage::kv_store> open_store(const std::string& name) {
    auto opened = storage::kv_store::open(dir.path + "/" + name);
    REQUIRE(opened);
    return std::move(*opened);
  }

  /// Hands `e` to `role` as read from its type's topic, then runs every message.
  void deliver_to(const role_actor& role, const events::event& e, int32_t partition = 0) {
    hand(*sys, role, inbound{e, events::topic_of(e.data), partition, offset++}, replies);
    run();
  }

  void deliver_all(const role_actor& role, const std::vector<events::event>& evs) {
    for (auto& e : evs)
      deliver_to(role, e);
  }
};

} // namespace eventide::testing
