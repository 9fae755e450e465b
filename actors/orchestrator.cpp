#include "actors/orchestrator.hpp"
#include "actors/store_cover.hpp"

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include "actors/bridges.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "core/wake_hint.hpp"
#include "schemas/codec.hpp"

namespace eventide {

// Orchestrator store keys: "s/<conv>" snapshot of a running conversation, "w/<conv>" its wake
// hint (core/wake_hint.hpp, written with the snapshot), "f/<conv>" finished marker, cover_key(p)
// this store reflects partition p up to the group's committed offset (actors/store_cover.hpp).

namespace {

using caf::ok_atom;

// The fold of one turn (`id` is its turn_scope) from its snapshot, else a new one.
core::conversation_state stored_or_new(orchestrator_ptr self, const std::string& id) {
  auto& st = self->state;
  auto [conversation_id, turn] = split_turn_scope(id);
  if (st.store) {
    if (auto snap = st.store->get("s/" + id); snap && *snap) {
      auto restored = core::conversation_state::restore(
        conversation_id, st.policy, **snap, [](std::string_view b) { return events::decode(b); },
        st.session, turn);
      if (restored)
        return std::move(*restored);
      // the log still has everything: a replay from 0 would rebuild it
      EV_LOG(error) << "ignoring unreadable snapshot conversationId=" << id << ": "
                    << restored.error();
    }
  }
  return core::conversation_state(conversation_id, st.policy, st.session, turn);
}

// The digest of a turn that holds nothing. The registry makes a turn's actor for its first
// record; a turn that refused that record (its bridge letters it) stays empty, and a replay
// that passes over the lettered record never makes it: such a turn is no state.
std::string empty_digest(orchestrator_ptr self, const std::string& id) {
  auto [conversation_id, turn] = split_turn_scope(id);
  return core::conversation_state(conversation_id, self->state.policy, self->state.session, turn)
    .digest();
}

// The actor of one turn of a conversation (`id` is its turn_scope): in memory, else restored
// from its snapshot, else new. Returns nullptr for a finished (compacted) turn.
conversation_actor* conversation_for(orchestrator_ptr self, const std::string& id,
                                     int32_t partition) {
  auto& st = self->state;
  if (st.finished.count(id))
    return nullptr;
  if (auto it = st.conversations.find(id); it != st.conversations.end())
    return &it->second;
  if (st.store)
    if (auto f = st.store->get("f/" + id); f && *f) {
      st.finished.insert(id);
      return nullptr;
    }
  auto fold = std::make_shared<core::conversation_state>(stored_or_new(self, id));
  // Not linked: CAF keeps links in a list, so with many conversations every passivation
  // would scan it. The registry stops its children itself when it exits (~orchestrator_state).
  auto a = self->spawn(conversation, fold, st.store, st.producer,
                       caf::actor_cast<caf::actor>(self), st.source, st.live,
                       st.store ? st.passivate_after_ms : int64_t{0}, st.policy_fingerprint);
  st.partition_of[id] = partition;
  return &st.conversations.emplace(id, a).first->second;
}

// The partition of a turn's conversation (records are keyed by conversation id).
int32_t partition_of_scope(orchestrator_ptr self, const std::string& scope) {
  return self->state.partition_of_key(split_turn_scope(scope).first);
}

// Calls f(id) for each running turn of the `owned` partitions that is only in the store.
template <class F>
void for_each_stored_only(orchestrator_ptr self, const std::vector<int32_t>& owned_partitions, F f) {
  auto& st = self->state;
  std::unordered_set<int32_t> owned(owned_partitions.begin(), owned_partitions.end());
  (void) st.store->scan_keys("s/", [&](const std::string& k) {
    auto id = k.substr(2);
    if (!st.conversations.count(id) && owned.count(partition_of_scope(self, id)))
      f(std::move(id));
  });
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

} // namespace

orchestrator_actor::behavior_type
orchestrator(orchestrator_ptr self, core::orchestration_policy policy, producer_actor producer,
             std::string source, std::shared_ptr<storage::kv_store> store,
             std::function<int32_t(const std::string&)> partition_of_key,
             std::shared_ptr<std::atomic<bool>> live_flag, int64_t passivate_after_ms) {
  self->state.store = std::move(store);
  self->state.live_flag = std::move(live_flag);
  self->state.passivate_after_ms = passivate_after_ms;
  self->state.partition_of_key = std::move(partition_of_key);
  self->state.policy = policy;
  self->state.policy_fingerprint = core::policy_fingerprint(policy);
  self->state.producer = std::move(producer);
  self->state.source = std::move(source);
  self->state.session = boost::uuids::to_string(boost::uuids::random_generator()());
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      // One actor per turn: each turn runs its own plan (the router starts turn n+1 only
      // after turn n ended).
      auto key = turn_scope(in.ev.subject, events::turn_of(in.ev.data));
      auto* a = conversation_for(self, key, in.partition);
      if (!a) {
        // Finished: a late duplicate, or a person's decision that comes too late.
        bool command = std::holds_alternative<events::approval_submitted>(in.ev.data)
                       || std::holds_alternative<events::cancel_requested>(in.ev.data)
                       || std::holds_alternative<events::compensation_retry_requested>(in.ev.data);
        if (command && !in.replayed)
          return make_error(ec::handler_failed,
                            "turn " + std::to_string(events::turn_of(in.ev.data)) + " already ended");
        return ok_atom::value;
      }
      ++self->state.delegated[key];
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
      if (st.store)
        if (auto r = mark_cover(*st.store, st.assigned, false); !r)
          EV_LOG(error) << "cannot clear store coverage: " << r.error();
      for (auto& [id, a] : st.conversations)
        self->send(a, restore_atom::value);
    },
    [self](live_atom, const std::vector<int32_t>& assigned) -> caf::result<ok_atom> {
      auto& st = self->state;
      st.live = true;
      auto rp = self->make_response_promise<ok_atom>();
      size_t waiting = 0, on_record = 0;
      if (st.store) {
        // Running conversations with no record since the checkpoint live only in the store.
        // Only those due now are loaded; the others wait there for their record or their wake
        // hint (loading all of them was most of a restart: 0.46 of 0.69 s with 9.6k running).
        // These scans run on the scheduler, but only once per go-live, while the role is not
        // live yet. A detached registry would add a thread hop to every record instead.
        std::unordered_map<std::string, core::wake_hint> hints;
        (void) st.store->scan("w/", [&](const std::string& k, const std::string& v) {
          if (auto h = core::decode_wake_hint(v))
            hints.emplace(k.substr(2), *h);
        });
        st.sleeping.clear(); // rebuilt from the hints, with the ones left in the store now
        const auto now = now_ms();
        std::vector<std::string> due;
        for_each_stored_only(self, assigned, [&](std::string id) {
          auto h = hints.find(id);
          auto hint = h == hints.end() ? std::nullopt : std::optional<core::wake_hint>{h->second};
          switch (core::go_live_action(hint, st.policy_fingerprint, now)) {
            case core::go_live_load::now:
              due.push_back(std::move(id));
              break;
            case core::go_live_load::at_wake:
              st.sleeping.emplace(*hint->at, std::move(id));
              ++waiting;
              break;
            case core::go_live_load::on_record:
              ++on_record;
              break;
          }
        });
        for (auto& id : due)
          conversation_for(self, id, partition_of_scope(self, id));
        schedule_registry_tick(self);
      }
      st.assigned = assigned;
      EV_LOG(info) << "orchestrator live on " << assigned.size() << " partitions with "
                   << st.conversations.size() << " running conversations in memory, " << waiting
                   << " in the store until their wake-up, " << on_record
                   << " until their next record";
      // Every conversation persists what restore mode deferred; once all have, the store
      // reflects these partitions up to the end of what was replayed, and the node reports
      // the role live.
      auto pending = std::make_shared<size_t>(st.conversations.size() + 1);
      auto failed = std::make_shared<bool>(false);
      auto reply = std::make_shared<caf::typed_response_promise<ok_atom>>(rp);
      auto one_done = [self, pending, failed, assigned, reply] {
        if (--*pending > 0)
          return;
        reply->deliver(ok_atom::value);
        auto& st = self->state;
        if (!st.live || st.assigned != assigned)
          return; // restore mode again: the marker stays off
        if (st.store && !*failed)
          if (auto r = mark_cover(*st.store, assigned, true); !r)
            EV_LOG(error) << "cannot mark store coverage: " << r.error();
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
      return rp;
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
          continue; // going live reads its wake hint from the store again
        if (auto* a = conversation_for(self, id, partition_of_scope(self, id)))
          self->send(*a, tick_atom::value);
      }
      schedule_registry_tick(self);
    },
    [self](digest_atom) -> caf::result<std::string> {
      auto& st = self->state;
      auto lines = std::make_shared<std::map<std::string, std::string>>();
      for (auto& id : st.finished)
        (*lines)[id] = "done";
      if (st.store) // running conversations only in the store are part of the state too
        for_each_stored_only(self, st.assigned, [&](const std::string& id) {
          (*lines)[id] = stored_or_new(self, id).digest();
        });
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
                  if (d != empty_digest(self, id))
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
        it = gone.count(partition_of_scope(self, it->second)) ? st.sleeping.erase(it)
                                                                : std::next(it);
      if (st.store) {
        // Another member owns them now: this store stops reflecting them.
        std::vector<std::string> stale;
        for (auto p : parts)
          stale.push_back(cover_key(p));
        for (const char* prefix : {"s/", "w/"})
          (void) st.store->scan_keys(prefix, [&](const std::string& k) {
            if (gone.count(partition_of_scope(self, k.substr(2))))
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

orchestrator_actor spawn_orchestrator(caf::actor_system& sys, core::orchestration_policy policy,
                                      producer_actor producer, std::string source,
                                      std::shared_ptr<storage::kv_store> store,
                                      std::function<int32_t(const std::string&)> partition_of_key,
                                      std::shared_ptr<std::atomic<bool>> live_flag,
                                      int64_t passivate_after_ms) {
  if (!partition_of_key)
    partition_of_key = [](const std::string&) { return 0; };
  return sys.spawn(orchestrator, policy, std::move(producer), std::move(source),
                   std::move(store), std::move(partition_of_key), std::move(live_flag),
                   passivate_after_ms);
}

} // namespace eventide
