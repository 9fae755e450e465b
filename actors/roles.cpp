// The role actors of DESIGN §6 and the node that hosts them. Every role folds what its consumer
// bridge hands it and writes only through the node's producer bridge: roles never message each
// other. Pure decisions live in core/ (plan_state, answer_folds) and providers/ (planner, tools).
#include <atomic>
#include <chrono>
#include <thread>
#include <iterator>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "actors/bridges.hpp"
#include "actors/crash_point.hpp"
#include "actors/logging.hpp"
#include "actors/metrics_role.hpp"
#include "actors/node.hpp"
#include "actors/roles.hpp"
#include "bridge/kv_store.hpp"
#include "core/answer_folds.hpp"
#include "core/event_ids.hpp"
#include "core/json.hpp"
#include "providers/http_tools.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/llm_planner.hpp"
#include "providers/llm_tools.hpp"
#include "providers/offline_tools.hpp"
#include "providers/planner.hpp"
#include "providers/synthesis.hpp"

namespace eventide {

// Orchestrator store keys: "s/<conv>" snapshot of a running conversation, "f/<conv>" finished
// marker, cover_key(p) this store reflects partition p up to the group's committed offset.
std::string cover_key(int32_t partition) {
  return "cover/" + std::to_string(partition);
}

namespace {

using caf::ok_atom;

/// Turns a question into a plan; fills `errors` with each provider's reason on failure.
using planner_fn = std::function<outcome<providers::planning_result>(
  const std::string& query, std::vector<std::string>& errors)>;

bool offline_only(const std::vector<std::string>& chain) {
  return chain.size() == 1 && chain[0] == "offline";
}

events::event make_event(const std::string& conversation, const std::string& source,
                         const std::string& causation, events::payload p) {
  events::event e;
  e.id = core::deterministic_id(conversation, p);
  e.source = source;
  e.time_ms = now_ms();
  e.subject = conversation;
  e.causation_id = causation;
  e.data = std::move(p);
  return e;
}

/// Publishes `evs` in order (the producer handles requests FIFO) and calls `done` once all are
/// durable (with a default error) or with the first error.
using done_fn = std::function<void(const caf::error&)>;

template <class Self>
void publish_all(Self* self, const producer_actor& producer, std::vector<events::event> evs,
                 done_fn done) {
  if (evs.empty()) {
    done(caf::error{});
    return;
  }
  auto remaining = std::make_shared<size_t>(evs.size());
  auto failed = std::make_shared<bool>(false);
  for (auto& e : evs) {
    EV_LOG(debug) << "emit " << events::type_name(e.data) << " conversationId=" << e.subject
                  << " id=" << e.id;
    self->request(producer, caf::infinite, publish_atom::value, std::move(e))
      .then(
        [=](const bridge::position&) {
          if (--*remaining == 0 && !*failed)
            done(caf::error{});
        },
        [=](caf::error& err) {
          if (!*failed) {
            *failed = true;
            done(err);
          }
        });
  }
}

/// Completion for a record handler: answers the bridge's request.
done_fn reply_to(caf::typed_response_promise<ok_atom> rp) {
  return [rp](const caf::error& err) mutable {
    if (err)
      rp.deliver(err);
    else
      rp.deliver(ok_atom::value);
  };
}

/// Completion for emits nobody waits for (going live, timers): failures are logged.
done_fn log_failure(std::string what) {
  return [what](const caf::error& err) {
    if (err)
      EV_LOG(error) << what << ": " << describe(err);
  };
}

std::string source_of(const node_options& o, const char* role) {
  return "eventide/" + std::string(role) + "/" + o.node_id;
}

// -- router --------------------------------------------------------------------------------------

struct router_state {
  producer_actor producer;
  planner_fn planner;
  std::string source;
  static inline constexpr const char* name = "router";
};

role_actor::behavior_type router(role_actor::stateful_pointer<router_state> self,
                                 producer_actor producer, planner_fn planner,
                                 std::string source) {
  self->state.producer = std::move(producer);
  self->state.planner = std::move(planner);
  self->state.source = std::move(source);
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto q = std::get_if<events::user_query_received>(&in.ev.data);
      if (!q)
        return ok_atom::value;
      auto& st = self->state;
      std::vector<std::string> provider_errors;
      auto plan = st.planner(q->query, provider_errors);
      events::payload out;
      if (plan) {
        EV_LOG(info) << "planned conversationId=" << in.ev.subject << " offset=" << in.offset
                     << " by " << plan->provider << "/" << plan->model << " in " << plan->ms
                     << " ms";
        for (auto& e : plan->errors)
          EV_LOG(warning) << "planner fell back conversationId=" << in.ev.subject << ": " << e;
        out = events::plan_generated{1, std::move(plan->plan_json), plan->provider, plan->model,
                                     plan->ms, plan->prompt_tokens, plan->completion_tokens};
      } else {
        EV_LOG(info) << "planning failed conversationId=" << in.ev.subject << ": " << plan.error();
        out = events::planning_failed{plan.error(), std::move(provider_errors)};
      }
      auto rp = self->make_response_promise<ok_atom>();
      publish_all(self, st.producer,
                  {make_event(in.ev.subject, st.source, in.ev.id, std::move(out))}, reply_to(rp));
      return rp;
    },
    [](restore_atom) {},
    [](live_atom, const std::vector<int32_t>&) {},
    [](revoke_atom, const std::vector<int32_t>&) {},
  };
}

// -- orchestrator --------------------------------------------------------------------------------

struct conversation_actor_state {
  std::unique_ptr<core::conversation_state> fold;
  std::shared_ptr<bridge::kv_store> store; // snapshots; null = no store (state only in memory)
  producer_actor producer;
  caf::actor registry;
  std::string source;
  bool live = false;
  size_t publishing = 0;  // emits not yet durable
  std::vector<std::function<void(const caf::error&)>> awaiting_snapshot; // see emit_finished
  int64_t wakeup_at = 0;  // pending tick, 0 = none
  std::string last_event; // id of the last folded event: the cause of emits on live/timer
  int64_t passivate_after_ms = 0; // idle time before leaving memory; 0 = never (no store)
  uint64_t activity = 0;          // bumped by every record and timer, for the idle check
  uint64_t records = 0;           // records handled by this actor
  bool dirty = false;             // restore mode folded records the store does not have yet
  bool passivated = false;
  static inline constexpr const char* name = "conversation";
};

using conversation_ptr = conversation_actor::stateful_pointer<conversation_actor_state>;

void maybe_passivate(conversation_ptr self) {
  auto& st = self->state;
  if (st.fold->finished() && st.publishing == 0 && !st.passivated) {
    st.passivated = true;
    self->send(caf::actor_cast<orchestrator_actor>(st.registry), passivate_atom::value,
               st.fold->conversation_id(), int64_t{-1}, st.records);
  }
}

// Counts activity and schedules the idle check that may passivate this (running) conversation.
void touch(conversation_ptr self) {
  auto& st = self->state;
  ++st.activity;
  if (st.passivate_after_ms > 0 && st.store && st.live)
    self->delayed_send(self, std::chrono::milliseconds(st.passivate_after_ms), idle_atom::value,
                       st.activity);
}

std::string encode_or_empty(const events::event& e) {
  auto r = events::encode(e);
  return r ? *r : std::string{};
}

// Writes the fold to the store (a finished conversation is compacted to a marker). Runs before
// a record is acknowledged, so the group's committed offset never runs ahead of the store.
outcome<void> persist(conversation_ptr self) {
  auto& st = self->state;
  if (!st.store)
    return {};
  const auto& id = st.fold->conversation_id();
  auto written = st.fold->finished() ? st.store->write({{"f/" + id, ""}}, {"s/" + id})
                                     : st.store->put({{"s/" + id, st.fold->snapshot(encode_or_empty)}});
  if (written)
    st.dirty = false;
  return written;
}

// Called when one emit's events are durable (or failed). Completes `done` only once a snapshot
// that includes them is stored. Emits overlap (a record arrives while the previous record's
// events are in flight) and decide() marks what it returns as emitted at once, so a snapshot
// taken while any emit is in flight could hold a decision that is not in the log yet; a crash
// then would lose that decision for good (kafka.crash_points, after-snapshot, found this). So
// the last emit in flight persists once for all that wait. A failed publish or store write
// fails every waiting record: they are re-read after a restart.
void emit_finished(conversation_ptr self, done_fn done, const caf::error& err) {
  auto& st = self->state;
  --st.publishing;
  if (err) {
    done(err);
    if (st.publishing == 0) {
      for (auto& d : std::exchange(st.awaiting_snapshot, {}))
        d(err);
    }
    return;
  }
  st.awaiting_snapshot.push_back(std::move(done));
  if (st.publishing > 0)
    return;
  auto waiting = std::exchange(st.awaiting_snapshot, {});
  auto written = persist(self);
  if (!written) {
    EV_LOG(error) << "cannot persist conversationId=" << st.fold->conversation_id() << ": "
                  << written.error();
    for (auto& d : waiting)
      d(make_error(ec::produce_failed, written.error()));
    return;
  }
  if (st.store)
    crash_point(core::crash_site::after_snapshot, st.fold->conversation_id().c_str());
  for (auto& d : waiting)
    d(caf::error{});
  maybe_passivate(self);
}

void schedule_wakeup(conversation_ptr self) {
  auto& st = self->state;
  auto next = st.fold->next_wakeup();
  if (!next || (st.wakeup_at != 0 && st.wakeup_at <= *next))
    return;
  st.wakeup_at = *next;
  auto delay = std::max<int64_t>(0, *next - now_ms()) + 1;
  self->delayed_send(self, std::chrono::milliseconds(delay), tick_atom::value);
}

// Produces what the fold implies now; calls `done` when it is durable.
void emit(conversation_ptr self, const std::string& causation, done_fn done) {
  auto& st = self->state;
  std::vector<events::event> evs;
  for (auto& p : st.fold->decide(now_ms()))
    evs.push_back(make_event(st.fold->conversation_id(), st.source, causation, std::move(p)));
  schedule_wakeup(self);
  if (evs.empty() && !st.dirty) {
    done(caf::error{}); // nothing new to publish or to persist
    return;
  }
  ++st.publishing;
  publish_all(self, st.producer, std::move(evs),
              [self, done](const caf::error& err) { emit_finished(self, done, err); });
}

conversation_actor::behavior_type
conversation(conversation_ptr self, std::shared_ptr<core::conversation_state> fold,
             std::shared_ptr<bridge::kv_store> store, producer_actor producer,
             caf::actor registry, std::string source, bool live, int64_t passivate_after_ms) {
  auto& st = self->state;
  st.fold = std::make_unique<core::conversation_state>(std::move(*fold));
  st.store = std::move(store);
  st.passivate_after_ms = passivate_after_ms;
  st.producer = std::move(producer);
  st.registry = std::move(registry);
  st.source = std::move(source);
  st.live = live;
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto& st = self->state;
      st.fold->apply(in.ev);
      st.dirty = true;
      st.last_event = in.ev.id;
      ++st.records;
      touch(self);
      if (!st.live) {
        crash_point(core::crash_site::mid_restore, in.ev.id.c_str());
        // Restore mode acknowledges without a snapshot: the registry cleared the partition's
        // coverage marker, so a crash now replays it from offset 0, and going live persists
        // once (a snapshot per record made replay 1.5x slower). A finished conversation
        // leaves memory, so it is compacted at once.
        if (st.fold->finished()) {
          if (auto r = persist(self); !r)
            return make_error(ec::produce_failed, r.error());
          maybe_passivate(self);
        }
        return ok_atom::value;
      }
      if (std::holds_alternative<events::tool_invocation_resulted>(in.ev.data))
        crash_point(core::crash_site::after_result, in.ev.id.c_str());
      auto rp = self->make_response_promise<ok_atom>();
      emit(self, in.ev.id, reply_to(rp));
      return rp;
    },
    [self](restore_atom) { self->state.live = false; },
    [self](live_atom) -> caf::result<ok_atom> {
      // Emits what the restored state implies and persists what restore mode deferred; the
      // reply says both are done.
      auto& st = self->state;
      st.live = true;
      touch(self);
      auto rp = self->make_response_promise<ok_atom>();
      emit(self, st.last_event, reply_to(rp));
      return rp;
    },
    [self](tick_atom) {
      self->state.wakeup_at = 0;
      touch(self);
      if (self->state.live)
        emit(self, self->state.last_event,
             log_failure("emit on timer conversationId=" + self->state.fold->conversation_id()));
    },
    [self](stop_atom) { self->quit(); },
    [self](idle_atom, uint64_t seen) {
      auto& st = self->state;
      // Idle since the check was scheduled, nothing in flight, state in the store: leave memory.
      if (seen != st.activity || st.publishing > 0 || st.passivated || st.fold->finished()
          || st.dirty)
        return;
      // Only a request: the registry may refuse (a record is queued); the next idle check asks
      // again.
      self->send(caf::actor_cast<orchestrator_actor>(st.registry), passivate_atom::value,
                 st.fold->conversation_id(), st.fold->next_wakeup().value_or(0), st.records);
    },
    [self](digest_atom) { return self->state.fold->digest(); },
  };
}

struct orchestrator_state {
  std::shared_ptr<bridge::kv_store> store; // null: no snapshots, restore replays everything
  std::function<int32_t(const std::string&)> partition_of_key; // conversation -> partition
  std::shared_ptr<std::atomic<bool>> live_flag; // observed by the node (benchmarks, health)
  std::unordered_map<std::string, conversation_actor> conversations;
  std::unordered_set<std::string> finished; // passivated conversations: later records are stale
  std::unordered_map<std::string, int32_t> partition_of; // of live conversations
  std::unordered_map<std::string, uint64_t> delegated; // records sent to each live actor
  std::multimap<int64_t, std::string> sleeping; // wake-up time -> idle passivated conversation
  int64_t tick_at = 0;                          // scheduled registry tick, 0 = none
  int64_t passivate_after_ms = 0;
  core::orchestration_policy policy;
  producer_actor producer;
  std::string source;
  bool live = false;
  std::vector<int32_t> assigned; // partitions of the last go-live
  static inline constexpr const char* name = "orchestrator";

  ~orchestrator_state() {
    for (auto& [id, a] : conversations)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

using orchestrator_ptr = orchestrator_actor::stateful_pointer<orchestrator_state>;

// The conversation's actor: in memory, else restored from its snapshot, else new. Returns
// nullptr for a finished (compacted) conversation.
conversation_actor* conversation_for(orchestrator_ptr self, const std::string& id,
                                     int32_t partition) {
  auto& st = self->state;
  if (st.finished.count(id))
    return nullptr;
  if (auto it = st.conversations.find(id); it != st.conversations.end())
    return &it->second;
  auto fold = std::make_shared<core::conversation_state>(id, st.policy);
  if (st.store) {
    if (auto f = st.store->get("f/" + id); f && *f) {
      st.finished.insert(id);
      return nullptr;
    }
    if (auto snap = st.store->get("s/" + id); snap && *snap) {
      auto restored = core::conversation_state::restore(
        id, st.policy, **snap, [](std::string_view b) { return events::decode(b); });
      if (restored)
        *fold = std::move(*restored);
      else // the log still has everything: a replay from 0 would rebuild it
        EV_LOG(error) << "ignoring unreadable snapshot conversationId=" << id << ": "
                      << restored.error();
    }
  }
  // Not linked: CAF keeps links in a list, so with many conversations every passivation
  // would scan it. The registry stops its children itself when it exits (~orchestrator_state).
  auto a = self->spawn(conversation, fold, st.store, st.producer,
                       caf::actor_cast<caf::actor>(self), st.source, st.live,
                       st.store ? st.passivate_after_ms : int64_t{0});
  st.partition_of[id] = partition;
  return &st.conversations.emplace(id, a).first->second;
}

// Wakes passivated conversations whose retry or deadline is due.
void schedule_registry_tick(orchestrator_ptr self) {
  auto& st = self->state;
  if (st.sleeping.empty())
    return;
  auto next = st.sleeping.begin()->first;
  if (st.tick_at != 0 && st.tick_at <= next)
    return;
  st.tick_at = next;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, next - now_ms()) + 1),
                     tick_atom::value);
}

orchestrator_actor::behavior_type
orchestrator(orchestrator_ptr self, core::orchestration_policy policy, producer_actor producer,
             std::string source, std::shared_ptr<bridge::kv_store> store,
             std::function<int32_t(const std::string&)> partition_of_key,
             std::shared_ptr<std::atomic<bool>> live_flag, int64_t passivate_after_ms) {
  self->state.store = std::move(store);
  self->state.live_flag = std::move(live_flag);
  self->state.passivate_after_ms = passivate_after_ms;
  self->state.partition_of_key = std::move(partition_of_key);
  self->state.policy = policy;
  self->state.producer = std::move(producer);
  self->state.source = std::move(source);
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto* a = conversation_for(self, in.ev.subject, in.partition);
      if (!a)
        return ok_atom::value; // finished: a late duplicate
      ++self->state.delegated[in.ev.subject];
      return self->delegate(*a, std::move(in));
    },
    [self](restore_atom) {
      auto& st = self->state;
      st.live = false;
      if (st.live_flag)
        st.live_flag->store(false);
      // Restore mode defers snapshots: until the next go-live has persisted them, a restart
      // must not trust this store for the partitions held so far. (Newly assigned ones were
      // cleared when the bridge read their marker.)
      if (st.store) {
        std::vector<std::string> marks;
        for (auto p : st.assigned)
          marks.push_back(cover_key(p));
        if (auto r = st.store->write({}, marks); !r)
          EV_LOG(error) << "cannot clear store coverage: " << r.error();
      }
      for (auto& [id, a] : st.conversations)
        self->send(a, restore_atom::value);
    },
    [self](live_atom, const std::vector<int32_t>& assigned) {
      auto& st = self->state;
      st.live = true;
      if (st.store) {
        std::unordered_set<int32_t> owned(assigned.begin(), assigned.end());
        // Running conversations with no record since the checkpoint live only in the store.
        // This prefix scan runs on the scheduler, but only once per go-live, while the role is
        // not live yet (0.34 s for a whole restart with ~96k conversations stored). A detached
        // registry would add a thread hop to every record instead.
        std::vector<std::string> stored;
        (void) st.store->scan("s/", [&](const std::string& k, const std::string&) {
          auto id = k.substr(2);
          if (!st.conversations.count(id) && owned.count(st.partition_of_key(id)))
            stored.push_back(id);
        });
        for (auto& id : stored)
          conversation_for(self, id, st.partition_of_key(id));
      }
      st.assigned = assigned;
      EV_LOG(info) << "orchestrator live on " << assigned.size() << " partitions with "
                   << st.conversations.size() << " running conversations";
      // Every conversation persists what restore mode deferred; once all have, the store
      // reflects these partitions up to the end of what was replayed, and the node reports
      // the role live.
      auto pending = std::make_shared<size_t>(st.conversations.size() + 1);
      auto failed = std::make_shared<bool>(false);
      auto one_done = [self, pending, failed, assigned] {
        if (--*pending > 0)
          return;
        auto& st = self->state;
        if (!st.live || st.assigned != assigned)
          return; // restore mode again: the marker stays off
        if (st.store && !*failed) {
          std::vector<std::pair<std::string, std::string>> marks;
          for (auto p : assigned)
            marks.emplace_back(cover_key(p), "1");
          if (auto r = st.store->put(marks); !r)
            EV_LOG(error) << "cannot mark store coverage: " << r.error();
        }
        if (st.live_flag)
          st.live_flag->store(true);
      };
      for (auto& [id, a] : st.conversations)
        self->request(a, caf::infinite, live_atom::value)
          .then([one_done](ok_atom) { one_done(); },
                [one_done, failed, id = id](caf::error& err) {
                  EV_LOG(error) << "going live failed conversationId=" << id << ": "
                                << describe(err) << "; the next restart replays its partition";
                  *failed = true;
                  one_done();
                });
      one_done();
    },
    [self](passivate_atom, const std::string& id, int64_t wake_at, uint64_t handled) {
      auto& st = self->state;
      auto it = st.conversations.find(id);
      if (it == st.conversations.end())
        return;
      if (wake_at >= 0 && st.delegated[id] != handled) {
        // A record is still queued at the actor: restoring a new one now would read a snapshot
        // without it. The actor checks again after its next idle period.
        self->send(it->second, tick_atom::value);
        return;
      }
      st.delegated.erase(id);
      // Records already delegated are queued before stop_atom, so none is lost; the actor
      // persists after each of them, and the next record restores it from the store.
      self->send(it->second, stop_atom::value);
      st.conversations.erase(it);
      st.partition_of.erase(id);
      if (wake_at < 0) {
        st.finished.insert(id);
      } else if (wake_at > 0) {
        st.sleeping.emplace(wake_at, id);
        schedule_registry_tick(self);
      }
    },
    [self](tick_atom) {
      auto& st = self->state;
      st.tick_at = 0;
      auto now = now_ms();
      while (!st.sleeping.empty() && st.sleeping.begin()->first <= now) {
        auto id = st.sleeping.begin()->second;
        st.sleeping.erase(st.sleeping.begin());
        if (!st.live)
          continue; // going live restores every running conversation anyway
        if (auto* a = conversation_for(self, id, st.partition_of_key(id)))
          self->send(*a, tick_atom::value);
      }
      schedule_registry_tick(self);
    },
    [self](digest_atom) -> caf::result<std::string> {
      auto& st = self->state;
      auto lines = std::make_shared<std::map<std::string, std::string>>();
      for (auto& id : st.finished)
        (*lines)[id] = "done";
      auto rp = self->make_response_promise<std::string>();
      auto pending = std::make_shared<size_t>(st.conversations.size());
      auto finish = [lines, rp]() mutable {
        std::string out;
        for (auto& [id, d] : *lines)
          out += id + " " + d + "\n";
        rp.deliver(out);
      };
      if (*pending == 0)
        finish();
      for (auto& [id, a] : st.conversations) {
        self->request(a, caf::infinite, digest_atom::value)
          .then([=, id = id](const std::string& d) mutable {
                  (*lines)[id] = d;
                  if (--*pending == 0)
                    finish();
                },
                [=](caf::error&) mutable {
                  if (--*pending == 0)
                    finish();
                });
      }
      return rp;
    },
    [self](revoke_atom, const std::vector<int32_t>& parts) {
      auto& st = self->state;
      std::unordered_set<int32_t> gone(parts.begin(), parts.end());
      for (auto it = st.partition_of.begin(); it != st.partition_of.end();) {
        if (!gone.count(it->second)) {
          ++it;
          continue;
        }
        if (auto c = st.conversations.find(it->first); c != st.conversations.end()) {
          self->send(c->second, stop_atom::value);
          st.conversations.erase(c);
        }
        st.delegated.erase(it->first);
        it = st.partition_of.erase(it);
      }
      for (auto it = st.sleeping.begin(); it != st.sleeping.end();)
        it = gone.count(st.partition_of_key(it->second)) ? st.sleeping.erase(it) : std::next(it);
      if (st.store) {
        // Another member owns them now: this store stops reflecting them.
        std::vector<std::string> stale;
        for (auto p : parts)
          stale.push_back(cover_key(p));
        (void) st.store->scan("s/", [&](const std::string& k, const std::string&) {
          if (gone.count(st.partition_of_key(k.substr(2))))
            stale.push_back(k);
        });
        if (auto r = st.store->write({}, stale); !r)
          EV_LOG(error) << "cannot drop handed-over partitions from the store: " << r.error();
      }
      EV_LOG(info) << "orchestrator handed over " << parts.size() << " partitions, keeps "
                   << st.conversations.size() << " conversations";
    },
  };
}

// -- workers -------------------------------------------------------------------------------------

struct runner_state {
  std::unique_ptr<providers::tool> tool;
  std::shared_ptr<bridge::kv_store> ledger;
  std::string source;
  static inline constexpr const char* name = "tool-runner";
};

tool_runner_actor::behavior_type
tool_runner(tool_runner_actor::stateful_pointer<runner_state> self,
            std::shared_ptr<providers::tool> tool_ptr, std::shared_ptr<bridge::kv_store> ledger,
            std::string source) {
  // Each runner owns its tool instance: tools need not be thread-safe.
  self->state.ledger = std::move(ledger);
  self->state.source = std::move(source);
  return {
    [self, tool_ptr](run_atom, const events::event& req_ev) -> caf::result<events::event> {
      auto& st = self->state;
      const auto& req = std::get<events::tool_invocation_requested>(req_ev.data);
      auto key = "r/" + req.invocation_id;
      auto recorded = st.ledger->get(key);
      if (!recorded)
        return make_error(ec::handler_failed, recorded.error());
      std::optional<core::ledger_entry> entry;
      std::optional<events::event> recorded_ev;
      if (*recorded) {
        if (auto ev = events::decode(**recorded); ev) {
          auto& r = std::get<events::tool_invocation_resulted>(ev->data);
          entry = core::ledger_entry{r.attempt, r.ok, r.retryable};
          recorded_ev = std::move(*ev);
        }
      }
      if (!core::should_execute(entry, req.attempt)) {
        EV_LOG(info) << "duplicate request conversationId=" << req_ev.subject
                     << " invocationId=" << req.invocation_id << ": answering from ledger";
        return *recorded_ev;
      }
      crash_point(core::crash_site::before_effect, req.invocation_id.c_str());
      auto started = std::chrono::steady_clock::now();
      auto out = tool_ptr->run(req.invocation_id, req.attempt, req.args_json);
      crash_point(core::crash_site::after_effect, req.invocation_id.c_str());
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started).count();
      events::tool_invocation_resulted res{req.invocation_id, req.attempt, req.step_id, req.tool,
                                           out.ok, out.result_json, out.error, out.retryable, ms};
      auto ev = make_event(req_ev.subject, st.source, req_ev.id, res);
      auto bytes = events::encode(ev);
      if (!bytes) {
        // The tool returned something the schema rejects: report it as a permanent error.
        auto& r = std::get<events::tool_invocation_resulted>(ev.data);
        r.ok = false;
        r.result_json = "null";
        r.error = "tool produced an invalid result: " + bytes.error();
        r.retryable = false;
        bytes = events::encode(ev);
        if (!bytes)
          return make_error(ec::invalid_event, bytes.error());
      }
      if (auto w = st.ledger->put({{key, *bytes}}); !w)
        return make_error(ec::handler_failed, w.error());
      EV_LOG(info) << "executed " << req.tool << " conversationId=" << req_ev.subject
                   << " invocationId=" << req.invocation_id << " attempt=" << req.attempt
                   << " ok=" << out.ok << " ms=" << ms;
      return ev;
    },
  };
}

struct worker_state {
  std::string tool;
  std::vector<tool_runner_actor> runners;
  size_t next = 0;
  producer_actor producer;
  static inline constexpr const char* name = "worker";
};

role_actor::behavior_type worker(role_actor::stateful_pointer<worker_state> self,
                                 std::string tool, std::vector<tool_runner_actor> runners,
                                 producer_actor producer) {
  self->state.tool = std::move(tool);
  self->state.runners = std::move(runners);
  self->state.producer = std::move(producer);
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto& st = self->state;
      auto req = std::get_if<events::tool_invocation_requested>(&in.ev.data);
      if (!req || req->tool != st.tool)
        return ok_atom::value;
      auto rp = self->make_response_promise<ok_atom>();
      auto runner = st.runners[st.next++ % st.runners.size()];
      self->request(runner, caf::infinite, run_atom::value, std::move(in.ev))
        .then(
          [self, rp](events::event& result) mutable {
            publish_all(self, self->state.producer, {std::move(result)}, reply_to(rp));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [](restore_atom) {},
    [](live_atom, const std::vector<int32_t>&) {},
    [](revoke_atom, const std::vector<int32_t>&) {},
  };
}

// -- aggregator and synthesis --------------------------------------------------------------------

// A role whose per-conversation state is a small fold kept in one map (cheap enough not to
// need an actor per conversation). `decide(fold, conversation)` returns events to emit.
template <class Fold>
struct fold_role_state {
  std::unordered_map<std::string, Fold> folds;
  std::unordered_map<std::string, int32_t> partition_of; // of conversations in `folds`
  std::unordered_set<std::string> done;
  producer_actor producer;
  std::string source;
  bool live = false;
  static inline constexpr const char* name = "fold-role";
};

template <class Fold, class Decide>
role_actor::behavior_type fold_role(typename role_actor::stateful_pointer<fold_role_state<Fold>> self,
                                    producer_actor producer, std::string source, Decide decide) {
  self->state.producer = std::move(producer);
  self->state.source = std::move(source);
  // Emits what conversation `id` implies; forgets it once done (its output is in the log).
  auto step = [self, decide](const std::string& id, const std::string& causation, done_fn done) {
    auto& st = self->state;
    auto it = st.folds.find(id);
    std::vector<events::event> evs;
    for (auto& p : decide(it->second))
      evs.push_back(make_event(id, st.source, causation, std::move(p)));
    if (it->second.done()) {
      st.folds.erase(it);
      st.partition_of.erase(id);
      st.done.insert(id);
    }
    publish_all(self, st.producer, std::move(evs), std::move(done));
  };
  return {
    [self, step](inbound& in) -> caf::result<ok_atom> {
      auto& st = self->state;
      const auto& id = in.ev.subject;
      if (st.done.count(id))
        return ok_atom::value;
      auto& fold = st.folds[id];
      st.partition_of[id] = in.partition;
      fold.apply(in.ev);
      if (!st.live) {
        if (fold.done()) {
          st.folds.erase(id);
          st.partition_of.erase(id);
          st.done.insert(id);
        }
        return ok_atom::value;
      }
      auto rp = self->template make_response_promise<ok_atom>();
      step(id, in.ev.id, reply_to(rp));
      return rp;
    },
    [self](restore_atom) { self->state.live = false; },
    [self, step](live_atom, const std::vector<int32_t>&) {
      auto& st = self->state;
      st.live = true;
      std::vector<std::string> ids;
      for (auto& [id, f] : st.folds)
        ids.push_back(id);
      for (auto& id : ids)
        step(id, "", log_failure("emit after restore conversationId=" + id));
    },
    [self](revoke_atom, const std::vector<int32_t>& parts) {
      auto& st = self->state;
      std::unordered_set<int32_t> gone(parts.begin(), parts.end());
      for (auto it = st.partition_of.begin(); it != st.partition_of.end();) {
        if (gone.count(it->second)) {
          st.folds.erase(it->first);
          it = st.partition_of.erase(it);
        } else {
          ++it;
        }
      }
    },
  };
}

std::vector<events::payload> decide_aggregation(core::aggregation_fold& f) {
  if (auto p = f.decide())
    return {std::move(*p)};
  return {};
}

// The synthesis decision: the template synthesizer, or the LLM chain (which falls back to it).
struct decide_synthesis {
  std::shared_ptr<providers::provider_runtime> runtime; // null: offline template only

  std::vector<events::payload> operator()(core::synthesis_fold& f) const {
    auto req = f.pending();
    if (!req)
      return {};
    providers::synthesis_input in{req->query, req->plan_json, req->results_json, req->failure,
                                  req->failed_step};
    f.mark_answered();
    if (!runtime) {
      auto out = providers::synthesize_offline(in);
      return {events::final_answer_synthesized{out.answer, "offline", "template", out.citations,
                                               !req->failure.empty()}};
    }
    auto r = providers::synthesize_with_chain(in, runtime->synthesis());
    for (auto& e : r.errors)
      EV_LOG(warning) << "synthesis fell back: " << e;
    return {events::final_answer_synthesized{r.output.answer, r.provider, r.model,
                                             r.output.citations, !req->failure.empty(),
                                             r.prompt_tokens, r.completion_tokens}};
  }
};

} // namespace

orchestrator_actor spawn_orchestrator(caf::actor_system& sys, core::orchestration_policy policy,
                                      producer_actor producer, std::string source,
                                      std::shared_ptr<bridge::kv_store> store,
                                      std::function<int32_t(const std::string&)> partition_of_key,
                                      std::shared_ptr<std::atomic<bool>> live_flag,
                                      int64_t passivate_after_ms) {
  if (!partition_of_key)
    partition_of_key = [](const std::string&) { return 0; };
  return sys.spawn(orchestrator, policy, std::move(producer), std::move(source),
                   std::move(store), std::move(partition_of_key), std::move(live_flag),
                   passivate_after_ms);
}

role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source) {
  auto planner = [ctx](const std::string& query,
                       std::vector<std::string>& errors) -> outcome<providers::planning_result> {
    auto started = std::chrono::steady_clock::now();
    auto plan = providers::plan_offline(query, ctx);
    if (!plan) {
      errors.push_back("offline: " + plan.error());
      return std::move(plan).take_failure();
    }
    providers::planning_result r;
    r.plan_json = std::move(*plan);
    r.provider = "offline";
    r.model = "rule-based";
    r.ms = std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - started).count();
    return r;
  };
  return sys.spawn(router, std::move(producer), planner_fn{planner}, std::move(source));
}

// -- node ----------------------------------------------------------------------------------------

void tune_scheduler(caf::actor_system_config& cfg) {
  // Every message from a consumer bridge (a detached thread) wakes a scheduler worker. CAF's
  // "moderate" idle phase sleeps 50 us between queue checks for ~25 ms before it waits on a
  // condition variable that enqueues signal; on a pipeline that idles between hops, skipping it
  // takes ~0.1 ms off every hop. Idle workers still spin briefly (the aggressive phase) first.
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
}

const std::vector<std::string>& worker_roles() {
  static const std::vector<std::string> roles = {
    "worker-getProductInformation", "worker-ragGeneration", "worker-generalChat", "worker-math",
    "worker-weather", "worker-exchangeRate", "worker-orchestrationSynthesis"};
  return roles;
}

const std::vector<std::string>& known_roles() {
  static const std::vector<std::string> roles = [] {
    std::vector<std::string> r = {"router", "orchestrator", "aggregator", "synthesis"};
    r.insert(r.end(), worker_roles().begin(), worker_roles().end());
    return r;
  }();
  return roles;
}

const std::vector<std::string>& optional_roles() {
  static const std::vector<std::string> roles = {"metrics"};
  return roles;
}

topics::topics(const std::string& prefix)
  : user_commands(prefix + "user-commands"),
    conversation_events(prefix + "conversation-events"),
    tool_requests(prefix + "tool-invocation-requests"),
    dead_letters(prefix + "dead-letter-queue") {
}

struct node::impl {
  caf::actor_system& sys;
  std::shared_ptr<bridge::log> log;
  node_options opts;
  producer_actor producer;
  std::vector<caf::actor> bridges;
  std::vector<caf::actor> others; // role actors and runners, stopped after the bridges
  std::shared_ptr<bridge::kv_store> ledger;
  orchestrator_actor orchestrator;
  metrics_actor metrics;
  std::shared_ptr<std::atomic<bool>> orchestrator_live = std::make_shared<std::atomic<bool>>(false);

  impl(caf::actor_system& s, std::shared_ptr<bridge::log> l, node_options o)
    : sys(s), log(std::move(l)), opts(std::move(o)) {
  }

  void add(const std::string& group, std::vector<std::string> tps, role_actor role,
           bool restore, std::function<bool(int32_t)> store_covers = nullptr,
           std::function<bool(const bridge::record&)> skip = nullptr) {
    consumer_bridge_config cfg;
    cfg.log = log;
    cfg.group = opts.topic_prefix + group;
    cfg.topics = std::move(tps);
    cfg.dead_letter_topic = topics(opts.topic_prefix).dead_letters;
    cfg.node_id = opts.node_id;
    cfg.restore = restore;
    cfg.store_covers = std::move(store_covers);
    cfg.skip = std::move(skip);
    cfg.max_in_flight = opts.max_in_flight;
    others.push_back(caf::actor_cast<caf::actor>(role));
    bridges.push_back(spawn_consumer_bridge(sys, std::move(cfg), std::move(role), producer));
  }

  std::shared_ptr<providers::provider_runtime> runtime;
  std::shared_ptr<const providers::product_retriever> retriever; // hybrid, when configured

  // Offline chains keep the plain offline tools; anything else goes through the runtime.
  outcome<std::unique_ptr<providers::tool>> make_tool(const std::string& name) {
    auto root = opts.resources;
    auto& pc = opts.providers;
    auto products = root + "/products";
    if (name == "getProductInformation" || name == "ragGeneration") {
      if (!offline_only(pc.embeddings_chain) && !retriever) {
        auto cache = pc.embedding_cache_dir.empty() ? opts.data_dir + "/embeddings"
                                                    : pc.embedding_cache_dir;
        auto r = providers::open_retriever(products, runtime->embeddings(), cache,
                                           pc.hybrid_bm25_weight, [](const std::string& m) {
                                             EV_LOG(warning) << "retrieval: " << m;
                                           });
        if (!r)
          return fail(r.error());
        retriever = *r;
      }
    }
    if (name == "getProductInformation")
      return retriever ? providers::make_product_info_tool(retriever)
                       : providers::make_product_info_tool(products);
    if (name == "ragGeneration")
      return offline_only(pc.rag_chain)
               ? providers::make_offline_rag_tool(products)
               : providers::make_llm_rag_tool(runtime->rag(), products, retriever);
    if (name == "generalChat")
      return offline_only(pc.chat_chain)
               ? providers::make_offline_chat_tool()
               : providers::make_llm_chat_tool(runtime->chat(),
                                               providers::load_product_names(products));
    if (name == "math")
      return providers::make_math_tool();
    if (name == "weather")
      return providers::make_weather_tool(*runtime, root + "/config/weather-sample.json");
    if (name == "exchangeRate")
      return providers::make_exchange_tool(*runtime, root + "/config/exchange-rates.json");
    return offline_only(pc.synthesis_chain) ? providers::make_offline_synthesis_tool()
                                            : providers::make_llm_synthesis_tool(runtime->synthesis());
  }

  outcome<void> start() {
    topics t(opts.topic_prefix);
    producer = spawn_producer(sys, log, opts.topic_prefix);
    runtime = providers::make_provider_runtime(opts.providers, [](const std::string& m) {
      EV_LOG(info) << "providers: " << m;
    });
    auto has = [&](const std::string& r) { return opts.roles.count(r) > 0; };
    if (has("router")) {
      providers::planner_context ctx{providers::load_product_names(opts.resources + "/products")};
      if (offline_only(opts.providers.planning_chain)) {
        auto r = spawn_router(sys, producer, std::move(ctx), source_of(opts, "router"));
        add("router", {t.user_commands}, r, false);
      } else {
        // LLM planning blocks on HTTP: the router runs detached, off the scheduler.
        auto rt = runtime;
        planner_fn planner = [rt, ctx](const std::string& query, std::vector<std::string>& errors) {
          return providers::plan_with_chain(query, rt->planning(), ctx, {}, &errors);
        };
        auto r = sys.spawn<caf::detached>(router, producer, planner, source_of(opts, "router"));
        add("router", {t.user_commands}, r, false);
      }
    }
    if (has("orchestrator")) {
      auto store = bridge::kv_store::open(opts.data_dir + "/orchestrator-store");
      if (!store)
        return fail(store.error());
      std::shared_ptr<bridge::kv_store> shared = std::move(*store);
      auto parts = log->partition_count(t.conversation_events);
      if (!parts)
        return fail(parts.error());
      auto n = *parts;
      auto o = spawn_orchestrator(sys, opts.policy, producer, source_of(opts, "orchestrator"),
                                  shared,
                                  [n](const std::string& id) {
                                    return bridge::partition_for_key(id, n);
                                  },
                                  orchestrator_live, opts.passivate_after_ms);
      orchestrator = o;
      // Read once per assignment, before any record of the partition flows. The marker is taken
      // away at once: restore mode defers snapshots, so until the registry writes it back at
      // go-live, a restart must replay the partition from offset 0.
      add("orchestrator", {t.conversation_events, t.tool_requests}, o, true, [shared](int32_t p) {
        auto c = shared->get(cover_key(p));
        if (!c || !*c)
          return false;
        if (auto r = shared->write({}, {cover_key(p)}); !r) {
          // The stale marker stays: a store that cannot take this write cannot take snapshots
          // either, and must be deleted (the node rebuilds it from the log).
          EV_LOG(error) << "cannot clear store coverage of partition " << p << ": " << r.error()
                        << "; the orchestrator store is failing: stop the node and delete it";
          return false;
        }
        return true;
      });
    }
    for (auto& role : worker_roles()) {
      if (!has(role))
        continue;
      if (!ledger) {
        auto kv = bridge::kv_store::open(opts.data_dir + "/worker-ledger");
        if (!kv)
          return fail(kv.error());
        ledger = std::move(*kv);
      }
      auto tool_name = role.substr(std::string("worker-").size());
      std::vector<tool_runner_actor> runners;
      auto source = source_of(opts, role.c_str());
      for (size_t i = 0; i < std::max<size_t>(1, opts.tool_concurrency); ++i) {
        auto made = make_tool(tool_name);
        if (!made)
          return fail(made.error());
        std::shared_ptr<providers::tool> tool = std::move(*made);
        // Tools that call HTTP block: their runners get a thread each. Offline tools compute
        // in microseconds and run on the scheduler (a thread wake-up per request saved).
        runners.push_back(tool->may_block()
                            ? sys.spawn<caf::detached>(tool_runner, tool, ledger, source)
                            : sys.spawn(tool_runner, tool, ledger, source));
        others.push_back(caf::actor_cast<caf::actor>(runners.back()));
      }
      auto w = sys.spawn(worker, tool_name, std::move(runners), producer);
      // Seven tool groups read every request; each decodes only its own tool's.
      add("tool-" + tool_name, {t.tool_requests}, w, false, nullptr,
          [tool_name](const bridge::record& rec) {
            auto named = events::peek_requested_tool(rec.value);
            return named && *named != tool_name;
          });
    }
    if (has("aggregator")) {
      auto a = sys.spawn(fold_role<core::aggregation_fold, decltype(&decide_aggregation)>,
                         producer, source_of(opts, "aggregator"), &decide_aggregation);
      add("aggregator", {t.user_commands, t.conversation_events}, a, true);
    }
    if (has("synthesis")) {
      // With an LLM chain the synthesis role blocks on HTTP: it runs detached.
      auto llm = !offline_only(opts.providers.synthesis_chain);
      decide_synthesis decide{llm ? runtime : nullptr};
      auto s = llm ? sys.spawn<caf::detached>(fold_role<core::synthesis_fold, decide_synthesis>,
                                             producer, source_of(opts, "synthesis"), decide)
                   : sys.spawn(fold_role<core::synthesis_fold, decide_synthesis>, producer,
                               source_of(opts, "synthesis"), decide);
      add("synthesis", {t.user_commands, t.conversation_events}, s, true);
    }
    if (has("metrics")) {
      // No consumer bridge: the projection reads every partition itself, in no group.
      metrics_role_config mc;
      mc.log = log;
      mc.topic_prefix = opts.topic_prefix;
      metrics = caf::actor_cast<metrics_actor>(spawn_metrics_role(sys, std::move(mc)));
      others.push_back(caf::actor_cast<caf::actor>(metrics));
    }
    EV_LOG(info) << "node " << opts.node_id << " started " << bridges.size()
                 << " consumer bridges on " << log->describe();
    return {};
  }

  void stop() {
    caf::scoped_actor self{sys};
    for (auto& b : bridges)
      self->send_exit(b, caf::exit_reason::user_shutdown);
    for (auto& b : bridges)
      self->wait_for(b);
    // Wait for roles and runners too: their stores (the ledger) close when they are gone.
    for (auto& a : others)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : others)
      self->wait_for(a);
    if (producer) {
      self->send_exit(producer, caf::exit_reason::user_shutdown);
      self->wait_for(producer);
    }
    bridges.clear();
    others.clear();
    orchestrator = nullptr;
    metrics = nullptr;
    // Actors release their state (and so the stores' RocksDB locks) just after they exit: a
    // stopped node must have closed its stores, so a restart in this process can open them.
    ledger.reset();
    for (auto dir : {"/worker-ledger", "/orchestrator-store"})
      if (!bridge::kv_store::wait_until_closed(opts.data_dir + dir, std::chrono::seconds(10)))
        EV_LOG(error) << "store " << opts.data_dir << dir << " still open after the node stopped";
  }
};

node::node(caf::actor_system& sys, std::shared_ptr<bridge::log> log, node_options opts)
  : impl_(std::make_unique<impl>(sys, std::move(log), std::move(opts))) {
}

node::~node() {
  if (impl_)
    impl_->stop();
}

outcome<void> node::start() {
  return impl_->start();
}

void node::stop() {
  impl_->stop();
}

std::string node::health() {
  auto& im = *impl_;
  caf::scoped_actor self{im.sys};
  json::document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("node", json::str(im.opts.node_id, a), a);
  d.AddMember("time", now_ms(), a);
  d.AddMember("log", json::str(im.log->describe(), a), a);
  d.AddMember("logError", json::str(im.log->last_error(), a), a);
  auto ask = [&](auto actor) {
    std::string out = "{}";
    self->request(actor, std::chrono::seconds(2), health_atom::value)
      .receive([&](const std::string& h) { out = h; },
               [&](caf::error& err) { out = "{\"error\":\"" + describe(err) + "\"}"; });
    auto parsed = json::parse(out);
    return parsed ? json::value(*parsed, a) : json::value(rapidjson::kObjectType);
  };
  if (im.producer)
    d.AddMember("producer", ask(im.producer), a);
  json::value bridges(rapidjson::kArrayType);
  for (auto& b : im.bridges)
    bridges.PushBack(ask(b), a);
  d.AddMember("bridges", bridges, a);
  json::value providers(rapidjson::kObjectType);
  if (im.runtime && im.runtime->http)
    for (auto& [key, st] : im.runtime->http->all_stats()) {
      json::value o(rapidjson::kObjectType);
      o.AddMember("calls", st.calls, a);
      o.AddMember("requests", st.requests, a);
      o.AddMember("retries", st.retries, a);
      o.AddMember("failures", st.failures, a);
      o.AddMember("shortCircuits", st.short_circuits, a);
      o.AddMember("breaker", json::str(st.breaker, a), a);
      providers.AddMember(json::str(key, a), o, a);
    }
  d.AddMember("providers", providers, a);
  if (im.metrics)
    d.AddMember("metrics", ask(im.metrics), a);
  return json::dump(d);
}

bool node::orchestrator_live() const {
  return impl_->orchestrator_live->load();
}

outcome<std::string> node::orchestrator_digest() {
  if (!impl_->orchestrator)
    return fail("this node runs no orchestrator");
  caf::scoped_actor self{impl_->sys};
  outcome<std::string> out = fail("no answer from the orchestrator");
  self->request(impl_->orchestrator, std::chrono::seconds(10), digest_atom::value)
    .receive([&](const std::string& d) { out = d; },
             [&](caf::error& err) { out = fail(describe(err)); });
  return out;
}

} // namespace eventide
