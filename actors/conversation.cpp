// One conversation's actor of the orchestrator role (actors/conversation.hpp): folds the
// turn's records, emits what they imply and snapshots the fold before a record is acknowledged.
#include "actors/conversation.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "actors/crash_point.hpp"
#include "actors/emit.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "core/wake_hint.hpp"
#include "schemas/codec.hpp"

namespace eventide {

// Store keys written here: "s/<turn>" the snapshot of a running turn, "w/<turn>" its wake hint
// (core/wake_hint.hpp), "f/<turn>" the finished marker (actors/orchestrator.cpp reads them).

namespace {

using caf::ok_atom;

void maybe_passivate(conversation_ptr self) {
  auto& st = self->state;
  if (st.fold->settled() && st.publishing == 0 && !st.passivated) {
    st.passivated = true;
    self->send(caf::actor_cast<orchestrator_actor>(st.registry), passivate_atom::value,
               st.fold->scope(), int64_t{-1}, st.records);
  }
}

// Schedules the idle check that may passivate this (running) conversation, unless one is
// pending: one timer per conversation, not one per record (each timer wakes CAF's clock
// thread; a timer per record cost 6% of the embedded pipeline's CPU).
void schedule_idle_check(conversation_ptr self, int64_t delay_ms) {
  auto& st = self->state;
  if (st.idle_check_pending || st.passivate_after_ms <= 0 || !st.store || !st.live)
    return;
  st.idle_check_pending = true;
  self->delayed_send(self, std::chrono::milliseconds(delay_ms), idle_atom::value);
}

// Notes activity (a record or a timer) for the idle check.
void touch(conversation_ptr self) {
  self->state.last_active = self->clock().now();
  schedule_idle_check(self, self->state.passivate_after_ms);
}

// Writes the fold to the store (a finished conversation whose decisions are all back from the
// log is compacted to a marker). Runs before a record is acknowledged, so the group's committed
// offset never runs ahead of the store.
outcome<void> persist(conversation_ptr self) {
  auto& st = self->state;
  if (!st.store)
    return {};
  const auto& id = st.fold->scope();
  auto written =
    st.fold->settled()
      ? st.store->write({{"f/" + id, ""}}, {"s/" + id, "w/" + id})
      : st.store->put({{"s/" + id, st.fold->snapshot(events::encode_or_empty)},
                       {"w/" + id, core::encode(core::wake_hint_of(*st.fold, st.policy_fingerprint))}});
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
  // One time for deciding and for the records: the fold counts a decision as progress at the
  // time its record will carry, as a fold rebuilt from the log will.
  const int64_t now = now_ms();
  for (auto& p : st.fold->decide(now))
    evs.push_back(make_event(st.fold->conversation_id(), st.source, causation, std::move(p), now));
  schedule_wakeup(self);
  if (evs.empty() && !st.dirty) {
    done(caf::error{}); // nothing new to publish or to persist
    return;
  }
  ++st.publishing;
  publish_all(self, st.producer, std::move(evs),
              [self, done](const caf::error& err) { emit_finished(self, done, err); });
}

} // namespace

conversation_actor::behavior_type
conversation(conversation_ptr self, std::shared_ptr<core::conversation_state> fold,
             std::shared_ptr<storage::kv_store> store, producer_actor producer,
             caf::actor registry, std::string source, bool live, int64_t passivate_after_ms,
             uint64_t policy_fingerprint) {
  auto& st = self->state;
  st.policy_fingerprint = policy_fingerprint;
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
      if (auto why = st.fold->refuses(in.ev)) {
        if (in.replayed)
          return ok_atom::value; // dead-lettered when it was first handled
        return make_error(ec::handler_failed, *why);
      }
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
        if (st.fold->settled()) {
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
    [self](idle_atom) {
      auto& st = self->state;
      st.idle_check_pending = false;
      // Active since the check was scheduled: look again passivate_after_ms after the latest
      // activity.
      const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(
                           self->clock().now() - st.last_active)
                           .count();
      if (quiet < st.passivate_after_ms) {
        schedule_idle_check(self, st.passivate_after_ms - quiet);
        return;
      }
      // Quiet, nothing in flight, state in the store: leave memory.
      if (st.publishing > 0 || st.passivated || st.fold->finished() || st.dirty)
        return;
      // Only a request: the registry may refuse (a record is queued); the next idle check asks
      // again.
      self->send(caf::actor_cast<orchestrator_actor>(st.registry), passivate_atom::value,
                 st.fold->scope(), st.fold->next_wakeup().value_or(0), st.records);
    },
    [self](digest_atom) { return self->state.fold->digest(); },
  };
}


} // namespace eventide
