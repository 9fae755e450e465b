// The consumer bridge (actors/bridges.hpp): polls a consumer group, hands records to its role,
// has what the role acknowledged committed (consumer_commit.cpp: in Kafka transactions with
// exactly-once), dead-letters what cannot be handled, and drives restores, rebalances and the
// crash-loop guard's gate.
#include "actors/bridges.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <set>

#include "actors/consumer_state.hpp"
#include "schemas/decode_memo.hpp"
#include "actors/crash_guard.hpp"
#include "actors/crash_point.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "schemas/codec.hpp"
#include "storage/dead_letter.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace eventide {

namespace consumer_internal {


void schedule_poll(consumer_ptr self) {
  if (!self->state.polling) {
    self->state.polling = true;
    self->send(self, poll_atom::value);
  }
}

// The next cycle after one that found `more` records (or, for a bridge not driven by the
// log's notifications, any cycle: its poll waits). A driven bridge otherwise sleeps until
// notified or acknowledged, and polls once a second anyway, so that a lost notification would
// cost a second, not a stall. (On Kafka, librdkafka's queue event callback was tried: it fires
// only when the consumer queue turns non-empty, and hops waited for the next poll.)
void next_cycle(consumer_ptr self, bool more) {
  auto& st = self->state;
  if (!st.driven || more) {
    schedule_poll(self);
  } else if (!st.keepalive) {
    st.keepalive = true;
    self->delayed_send(self, std::chrono::seconds(1), idle_atom::value);
  }
}

void guard_error(consumer_state& st, const outcome<void>& r) {
  if (r)
    return;
  st.last_error = std::to_string(now_ms()) + " crash guard: " + r.error();
  EV_LOG(error) << "crash guard group=" << st.cfg.group << ": " << r.error();
}

// The crash guard's part of an acknowledgement: the gate is released (the note cleared first,
// so a crash after the release blames nobody) and strikes are settled.
void settle_guarded(consumer_state& st, const storage::topic_partition& tp, int64_t offset) {
  auto& g = *st.guard;
  if (st.alone && st.alone->second == offset && st.alone->first == tp) {
    guard_error(st, g.clear_note());
    g.node().done_alone(g.group());
    st.alone.reset();
  } else if (!st.gated.empty() && st.gated.erase({tp, offset}) > 0) {
    if (st.gated.empty())
      guard_error(st, g.clear_note());
    g.node().done_shared(1);
  }
  if (g.watching())
    g.passed(tp, offset);
}

// How many records may be in flight: more while the role restores (it only folds them).
size_t window(const consumer_state& st) {
  return st.live ? st.cfg.max_in_flight : st.cfg.max_in_flight_restoring;
}

void acknowledge(consumer_ptr self, const storage::topic_partition& tp, int64_t offset) {
  auto& st = self->state;
  if (st.guard)
    settle_guarded(st, tp, offset); // also for a partition revoked meanwhile: the gate counts it
  auto it = st.tracks.find(tp);
  if (it == st.tracks.end())
    return; // revoked meanwhile; the new owner re-reads from its committed offset
  auto& t = it->second;
  if (t.in_flight.erase(offset) == 0)
    return;
  --st.in_flight;
  ++st.handled;
  // Committed by the next poll cycle: one commit per partition and cycle, not per record.
  st.commit_pending = true;
  // Exactly-once polls again only once everything handed out is acknowledged (may_poll).
  if (st.cfg.log->transactional() ? st.in_flight == 0
                                  : st.in_flight < window(st) / 2 + 1)
    schedule_poll(self);
}

void dead_letter(consumer_ptr self, const storage::record& rec, const std::string& reason) {
  auto& st = self->state;
  EV_LOG(warning) << "dead-lettering record group=" << st.cfg.group << " topic=" << rec.topic
                  << " partition=" << rec.partition << " offset=" << rec.offset
                  << " key=" << core::shorten(core::escape(rec.key)) << ": " << reason;
  ++st.dead_lettered;
  auto letter = storage::make_dead_letter(rec, st.cfg.group, reason, st.cfg.node_id, now_ms());
  storage::topic_partition tp{rec.topic, rec.partition};
  auto offset = rec.offset;
  self->request(st.producer, caf::infinite, publish_atom::value, st.cfg.dead_letter_topic,
                letter.key, storage::encode_dead_letter(letter))
    .then([self, tp, offset](const storage::position&) { acknowledge(self, tp, offset); },
          [self, tp, offset](caf::error& err) {
            // Not acknowledged: the offset stays uncommitted and the record is re-read after a
            // restart, so nothing is lost.
            EV_LOG(error) << "cannot write dead letter topic=" << tp.topic << " partition="
                          << tp.partition << " offset=" << offset << ": " << describe(err);
            auto& st = self->state;
            if (st.cfg.log->transactional())
              lost_output(self, tp, offset);
            if (st.alone && st.alone->first == tp && st.alone->second == offset) {
              guard_error(st, st.guard->clear_note()); // out of the gate; still uncommitted
              st.guard->node().done_alone(st.guard->group());
              st.alone.reset();
              schedule_poll(self);
            }
          });
}

void check_restored(consumer_ptr self) {
  auto& st = self->state;
  if (st.live || !st.held.empty() || st.consumer->assignment().empty())
    return; // (records held for the crash guard's gate are not with the role yet)
  for (auto& [tp, target] : st.restore_targets) {
    auto pos = st.consumer->position_of(tp);
    if (!pos || *pos < target)
      return;
  }
  st.live = true;
  st.restore_targets.clear();
  std::set<int32_t> parts;
  for (auto& tp : st.consumer->assignment())
    parts.insert(tp.partition);
  EV_LOG(info) << "restored group=" << st.cfg.group << " partitions=" << parts.size()
               << ", going live";
  // What the role emits on going live is not caused by a record in flight: until it is
  // durable, exactly-once neither polls (a rebalance then would commit without it, and the
  // next owner's replay would miss it and decide it again) nor commits.
  st.going_live = true;
  self->request(st.role, caf::infinite, live_atom::value,
                std::vector<int32_t>(parts.begin(), parts.end()))
    .then(
      [self](caf::ok_atom) {
        self->state.going_live = false;
        self->state.commit_pending = true;
        schedule_poll(self);
      },
      [self](caf::error& err) {
        EV_LOG(error) << "going live failed group=" << self->state.cfg.group << ": "
                      << describe(err);
        self->state.going_live = false;
        schedule_poll(self);
      });
}

// Reads which records the group dead-lettered (st.letters), before a replay of what it handled.
void read_letters(consumer_state& st) {
  auto t0 = std::chrono::steady_clock::now();
  auto letters = storage::read_group_letters(*st.cfg.log, st.cfg.dead_letter_topic, st.cfg.group,
                                             std::chrono::seconds(5));
  if (!letters) {
    st.letters.reset();
    EV_LOG(warning) << "group=" << st.cfg.group << " replays with validation: its dead letters "
                    << "are not known (" << letters.error() << ")";
    return;
  }
  size_t n = 0;
  for (auto& [tp, offsets] : *letters)
    n += offsets.size();
  st.letters = std::move(*letters);
  EV_LOG(info) << "group=" << st.cfg.group << " replays without validation but for its " << n
               << " dead letter(s), read in "
               << std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t0).count()
               << " ms";
}

void on_rebalance(consumer_ptr self, const std::vector<storage::topic_partition>& revoked,
                  const std::vector<storage::topic_partition>& assigned) {
  auto& st = self->state;
  if (!revoked.empty()) {
    commit_handled(st, true); // hand over exactly what was handled
    std::set<int32_t> parts;
    for (auto& tp : revoked)
      parts.insert(tp.partition);
    self->send(st.role, revoke_atom::value, std::vector<int32_t>(parts.begin(), parts.end()));
  }
  for (auto& tp : revoked) {
    auto it = st.tracks.find(tp);
    if (it != st.tracks.end()) {
      st.in_flight -= it->second.in_flight.size();
      st.tracks.erase(it);
    }
    st.restore_targets.erase(tp);
    if (st.guard) {
      // Not ours any more: out of the gate now (an acknowledgement may never come).
      auto& g = *st.guard;
      g.revoked(tp);
      if (st.alone && st.alone->first == tp) {
        guard_error(st, g.clear_note());
        g.node().done_alone(g.group());
        st.alone.reset();
      }
      for (auto it = st.gated.begin(); it != st.gated.end();) {
        if (it->first == tp) {
          it = st.gated.erase(it);
          g.node().done_shared(1);
        } else {
          ++it;
        }
      }
      st.held.erase(std::remove_if(st.held.begin(), st.held.end(),
                                   [&](const storage::record& r) {
                                     return r.partition == tp.partition && r.topic == tp.topic;
                                   }),
                    st.held.end());
    }
  }
  // Asked once per partition number: the role's store keys coverage by partition, and its
  // answer may change what it holds (the orchestrator takes its marker away).
  std::map<int32_t, bool> covers;
  auto covered = [&](int32_t partition) {
    if (st.rewinding)
      return false; // the store holds what the aborted transaction did: replay from the start
    auto it = covers.find(partition);
    if (it == covers.end())
      it = covers.emplace(partition, st.cfg.store_covers(partition)).first;
    return it->second;
  };
  bool replays_handled = false; // some partition is read again from below its committed offset
  for (auto& tp : assigned) {
    auto& t = st.tracks[tp];
    auto committed = st.consumer->committed(tp);
    t.committed = committed && *committed ? **committed : -1;
    t.handled_before = t.committed;
    if (st.cfg.restore) {
      auto wm = st.cfg.log->query_watermarks(tp);
      int64_t from = wm ? wm->low : 0;
      if (st.cfg.store_covers && covered(tp.partition) && t.committed > from)
        from = t.committed;
      if (auto r = st.consumer->seek(tp, log_offset{from}); !r)
        EV_LOG(error) << "seek failed topic=" << tp.topic << " partition=" << tp.partition
                      << ": " << r.error();
      if (wm && wm->high > from)
        st.restore_targets[tp] = wm->high;
      replays_handled = replays_handled || from < t.committed;
    }
    if (st.guard) {
      // Strikes below where reading starts or past the log's end are never read again.
      std::optional<int64_t> start = st.consumer->position_of(tp);
      if (!start && t.committed >= 0)
        start = t.committed;
      st.guard->assigned(tp, start, [&]() -> std::optional<int64_t> {
        auto wm = st.cfg.log->query_watermarks(tp);
        return wm ? std::optional<int64_t>{wm->high} : std::nullopt;
      });
    }
    EV_LOG(debug) << "assigned group=" << st.cfg.group << " topic=" << tp.topic
                  << " partition=" << tp.partition;
  }
  if (replays_handled)
    read_letters(st);
  // Everything revoked: what an aborted transaction left behind is forgotten with it.
  if (st.rewind_needed && st.tracks.empty())
    st.rewind_needed = false;
  // Kafka's eager rebalance revokes everything in one call and assigns in the next: only an
  // assignment (possibly empty) tells the guard which suspects are this member's.
  if (st.guard && !(assigned.empty() && !revoked.empty()))
    st.guard->assignment_seen();
  if (st.cfg.restore && !assigned.empty() && !st.restore_targets.empty() && st.live) {
    st.live = false;
    self->send(st.role, restore_atom::value);
  }
}

// Polls one batch into `out`. False after a failed poll (a retry is scheduled).
bool poll_into(consumer_ptr self, std::vector<storage::record>& out) {
  auto& st = self->state;
  // Block while idle (poll wakes on new data); while records are in flight return soon so
  // their acknowledgements (and commits) are processed. A driven bridge never waits here.
  auto timeout = std::chrono::milliseconds(st.driven ? 0 : st.in_flight > 0 ? 2 : 100);
  auto batch = st.consumer->poll(st.cfg.max_batch, timeout);
  if (!batch) {
    st.last_error = std::to_string(now_ms()) + " poll: " + batch.error();
    EV_LOG(error) << "poll failed group=" << st.cfg.group << ": " << batch.error();
    self->delayed_send(self, std::chrono::milliseconds(200), poll_atom::value);
    st.polling = true;
    return false;
  }
  out = std::move(*batch);
  return true;
}

// A record joins the records in flight: its offset is not committed before it is acknowledged.
void intake(consumer_state& st, const storage::record& rec) {
  auto& t = st.tracks[{rec.topic, rec.partition}];
  t.polled_upto = rec.offset + 1;
  t.in_flight.insert(rec.offset);
  ++st.in_flight;
}

// The crash guard's note: every record in flight, as runs of offsets per partition.
void note_in_flight(consumer_state& st) {
  auto& note = st.guard->start_note();
  for (auto& [tp, t] : st.tracks)
    if (!t.in_flight.empty())
      note.add(tp.topic, tp.partition, t.in_flight);
  guard_error(st, st.guard->finish_note());
}

// Acknowledges, and takes out of `batch`, the records addressed to another role (cfg.skip)
// before the crash guard notes the batch: they never reach this role, so they cannot crash
// it, and a worker group passes over most tool requests (one pwrite per batch saved).
void pass_over_skipped(consumer_ptr self, std::vector<storage::record>& batch) {
  auto& st = self->state;
  if (!st.cfg.skip)
    return;
  auto kept = std::remove_if(batch.begin(), batch.end(), [&](const storage::record& rec) {
    if (!st.cfg.skip(rec))
      return false;
    ++st.skipped;
    acknowledge(self, {rec.topic, rec.partition}, rec.offset);
    return true;
  });
  batch.erase(kept, batch.end());
}

// Hands one record in flight to the role, or passes over it, or dead-letters it.
void hand_out(consumer_ptr self, storage::record& rec) {
  auto& st = self->state;
  storage::topic_partition tp{rec.topic, rec.partition};
  if (st.guard && st.guard->has_strikes()) {
    if (auto n = st.guard->strikes_of(rec); n >= st.guard->limit()) {
      if (st.guard->dead_lettered(rec))
        acknowledge(self, tp, rec.offset); // a replay: its dead letter was written before
      else
        dead_letter(self, rec, core::crash_loop_reason(n));
      return;
    }
  }
  if (st.cfg.skip && st.cfg.skip(rec)) {
    ++st.skipped;
    acknowledge(self, tp, rec.offset);
    return;
  }
  // A replay below the committed offset: what the group dead-lettered the first time is passed
  // over, the rest was validated then and is read without validating it again.
  const bool replayed = rec.offset < st.tracks[tp].handled_before;
  const bool vouched = replayed && st.letters;
  if (vouched) {
    auto it = st.letters->find(tp);
    if (it != st.letters->end() && it->second.count(rec.offset)) {
      acknowledge(self, tp, rec.offset);
      return;
    }
  }
  // Refused like a record that does not decode: a record of no or another conversation, and
  // what the role refuses (cfg.refuse). A replay below the committed offset does not letter it
  // again.
  auto ev = vouched ? events::decode_handled(rec.value) : events::decode_shared(rec.value);
  if (ev && rec.key.empty())
    ev = fail("record has no key (expected the conversation id '" + ev->subject + "')");
  else if (ev && ev->subject != rec.key)
    ev = fail("record key '" + core::shorten(core::escape(rec.key)) + "' differs from subject '"
              + ev->subject + "'");
  if (ev && st.cfg.refuse)
    if (auto why = st.cfg.refuse(rec, *ev))
      ev = fail(std::move(*why));
  if (!ev) {
    // Replaying what this group already handled: it was dead-lettered the first time.
    if (replayed)
      acknowledge(self, tp, rec.offset);
    else
      dead_letter(self, rec, ev.error());
    return;
  }
  crash_on_record(st.cfg.group, rec.value, rec.topic, rec.partition, rec.offset);
  auto offset = rec.offset;
  self->request(st.role, caf::infinite,
                inbound{std::move(*ev), rec.topic, rec.partition, offset, replayed})
    .then([self, tp, offset](caf::ok_atom) { acknowledge(self, tp, offset); },
          [self, rec](caf::error& err) {
            if (self->state.cfg.log->transactional() && is_produce_failure(err)) {
              EV_LOG(warning) << "exactly-once: the log did not take the outputs of group="
                              << self->state.cfg.group << " topic=" << rec.topic
                              << " partition=" << rec.partition << " offset=" << rec.offset
                              << ": " << describe(err) << "; rewinding";
              lost_output(self, {rec.topic, rec.partition}, rec.offset);
              return;
            }
            dead_letter(self, rec, describe(err));
          });
}

// A poll cycle while the node is in quarantine (some group still has suspects to handle).
// Records go out in order; a run of records without strikes goes out as one batch when no
// suspect waits; a suspect goes out alone, when nothing else in the process is in flight and
// it is noted as alone. Whatever must wait stays in `held` and the cycle comes back in 1 ms.
void quarantine_cycle(consumer_ptr self) {
  auto& st = self->state;
  auto& g = *st.guard;
  if (st.alone)
    return; // its acknowledgement polls again
  bool polled = false;
  if (st.held.empty() && st.in_flight < window(st) && may_poll(st)) {
    std::vector<storage::record> batch;
    if (!poll_into(self, batch))
      return;
    polled = !batch.empty();
    for (auto& rec : batch)
      st.held.push_back(std::move(rec));
  }
  bool waiting = false;
  if (st.held.empty())
    g.node().withdraw(g.group()); // (a revocation may have taken the suspect it waited with)
  while (!st.held.empty()) {
    if (g.judge(st.held.front()) == core::crash_verdict::alone) {
      if (!g.node().try_alone(g.group())) {
        waiting = true;
        break;
      }
      auto rec = std::move(st.held.front());
      st.held.pop_front();
      intake(st, rec);
      st.alone.emplace(storage::topic_partition{rec.topic, rec.partition}, rec.offset);
      guard_error(st, g.note_alone(rec));
      EV_LOG(warning) << "crash guard: handing out alone group=" << st.cfg.group << " topic="
                      << rec.topic << " partition=" << rec.partition << " offset=" << rec.offset
                      << " (" << g.strikes_of(rec) << " strike(s))";
      hand_out(self, rec);
      break; // nothing else goes out while it is in flight
    }
    size_t n = 1;
    while (n < st.held.size() && g.judge(st.held[n]) != core::crash_verdict::alone)
      ++n;
    g.node().withdraw(g.group());
    if (!g.node().try_shared(n)) {
      waiting = true;
      break;
    }
    std::vector<storage::record> batch(std::make_move_iterator(st.held.begin()),
                                      std::make_move_iterator(st.held.begin() + n));
    st.held.erase(st.held.begin(), st.held.begin() + n);
    for (auto& rec : batch) {
      intake(st, rec);
      st.gated.insert({storage::topic_partition{rec.topic, rec.partition}, rec.offset});
    }
    note_in_flight(st);
    for (auto& rec : batch)
      hand_out(self, rec);
  }
  check_restored(self);
  if (waiting) {
    st.polling = true;
    self->delayed_send(self, std::chrono::milliseconds(1), poll_atom::value);
  } else if (!st.alone) {
    next_cycle(self, polled);
  }
}

caf::behavior consumer_bridge(consumer_ptr self, consumer_bridge_config cfg, role_actor role,
                              producer_actor producer) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.guard = std::move(st.cfg.guard);
  st.role = std::move(role);
  st.producer = std::move(producer);
  auto sub = st.cfg.log->subscribe(st.cfg.group, st.cfg.topics, st.cfg.reset);
  if (!sub) {
    EV_LOG(error) << "cannot subscribe group=" << st.cfg.group << ": " << sub.error();
    self->quit(make_error(ec::handler_failed, sub.error()));
    return {};
  }
  st.consumer = std::move(*sub);
  st.consumer->set_rebalance_listener(
    [self](const auto& revoked, const auto& assigned) { on_rebalance(self, revoked, assigned); });
  if (!st.cfg.restore)
    st.live = true; // roles that do not restore are live at once (partitions: none reported)
  // Only a weak handle: the consumer, which keeps the function, belongs to this actor.
  caf::weak_actor_ptr weak{self->ctrl()};
  st.driven = st.consumer->set_notify([weak, notified = st.notified] {
    if (!notified->exchange(true))
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(strong), notified_atom::value);
  });
  schedule_poll(self);
  return {
    [self](notified_atom) {
      self->state.notified->store(false); // before the poll: what comes after it notifies again
      schedule_poll(self);
    },
    [self](idle_atom) {
      self->state.keepalive = false;
      schedule_poll(self);
    },
    [self](tick_atom) {
      self->state.commit_timer = false;
      commit_due(self);
    },
    [self](poll_atom) {
      auto& st = self->state;
      st.polling = false;
      if (st.rewind_needed && st.in_flight == 0 && !st.going_live)
        rewind(self);
      if (st.guard && (st.alone || st.guard->quarantine())) {
        commit_handled(st, true);
        quarantine_cycle(self);
        return;
      }
      commit_due(self);
      if (st.in_flight >= window(st) || !may_poll(st))
        return; // back-pressure: acknowledge() resumes polling
      std::vector<storage::record> batch;
      if (!st.held.empty()) {
        // The quarantine just ended: what waited for the gate goes first.
        batch.assign(std::make_move_iterator(st.held.begin()),
                     std::make_move_iterator(st.held.end()));
        st.held.clear();
      } else if (!poll_into(self, batch)) {
        return;
      }
      if (batch.empty()) {
        if (st.guard && st.in_flight == 0)
          guard_error(st, st.guard->clear_note()); // idle: a kill now blames nobody
      } else {
        for (auto& rec : batch)
          intake(st, rec);
        pass_over_skipped(self, batch);
        if (st.guard && !batch.empty())
          note_in_flight(st); // one write per batch, before anything is handed out
        for (auto& rec : batch)
          hand_out(self, rec);
      }
      check_restored(self);
      next_cycle(self, !batch.empty());
    },
    [self](health_atom) {
      auto& st = self->state;
      json::document d;
      d.SetObject();
      auto& a = d.GetAllocator();
      d.AddMember("group", json::str(st.cfg.group, a), a);
      d.AddMember("live", st.live, a);
      d.AddMember("partitions", static_cast<uint64_t>(st.tracks.size()), a);
      d.AddMember("inFlight", static_cast<uint64_t>(st.in_flight), a);
      d.AddMember("handled", st.handled, a);
      d.AddMember("deadLettered", st.dead_lettered, a);
      d.AddMember("skipped", st.skipped, a);
      if (st.cfg.log->transactional()) {
        d.AddMember("transactions", st.transactions, a);
        d.AddMember("abortedTransactions", st.aborted, a);
      }
      if (st.guard) {
        // Records with strikes (crash-loop guard) and suspects still to be handled alone.
        d.AddMember("strikes", static_cast<uint64_t>(st.guard->strike_count()), a);
        d.AddMember("suspects", static_cast<uint64_t>(st.guard->suspects_pending()), a);
      }
      d.AddMember("lastError", json::str(st.last_error, a), a);
      return json::dump(d);
    },
  };
}

} // namespace consumer_internal

caf::actor spawn_consumer_bridge(caf::actor_system& sys, consumer_bridge_config cfg,
                                 role_actor role, producer_actor producer) {
  // A bridge whose log notifies it and never blocks it (the embedded log without fsync) runs
  // on the scheduler: a record appended by a role there reaches the next role without waking
  // another thread. Otherwise poll() or a commit may block: the bridge gets its own thread.
  if (cfg.log->notifies_consumers() && cfg.log->delivers_inline())
    return sys.spawn(consumer_internal::consumer_bridge, std::move(cfg), std::move(role),
                     std::move(producer));
  return sys.spawn<caf::detached>(consumer_internal::consumer_bridge, std::move(cfg),
                                  std::move(role), std::move(producer));
}

} // namespace eventide
