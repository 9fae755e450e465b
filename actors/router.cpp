#include "actors/router.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "actors/crash_point.hpp"
#include "actors/emit.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "actors/store_cover.hpp"
#include "providers/follow_up.hpp"
#include "model/ids.hpp"
#include "schemas/codec.hpp"

namespace eventide {

using caf::ok_atom;

namespace {

std::string memory_key(const std::string& conversation) {
  return "m/" + conversation;
}

// The memory of `conversation`: in memory, else restored from its snapshot, else new.
core::conversation_memory& memory_of(router_state& st, const std::string& conversation,
                                     int32_t partition) {
  st.partition_of[conversation] = partition;
  auto it = st.memories.find(conversation);
  if (it != st.memories.end())
    return it->second;
  core::conversation_memory m(conversation, st.max_turns);
  if (auto snap = st.ledger->get(memory_key(conversation)); snap && *snap) {
    if (auto restored = core::conversation_memory::restore(conversation, st.max_turns, **snap))
      m = std::move(*restored);
    else // the log still has everything: a replay from 0 rebuilds it
      EV_LOG(error) << "ignoring unreadable memory snapshot conversationId=" << conversation
                    << ": " << restored.error();
  }
  return st.memories.emplace(conversation, std::move(m)).first->second;
}

// Stores the memory's snapshot. Runs before a record is acknowledged, so the group's committed
// offset never runs ahead of the store.
outcome<void> persist(router_state& st, const core::conversation_memory& m) {
  return st.ledger->put({{memory_key(m.conversation_id()), m.snapshot()}});
}

// The record the ledger holds under `key` (what answered a question or a revision request
// before: a crash or a rebalance delivers it again), if any.
outcome<std::optional<events::event>> recorded_answer(router_state& st, const std::string& key) {
  auto recorded = st.ledger->get(key);
  if (!recorded)
    return fail(recorded.error());
  if (!*recorded)
    return std::optional<events::event>{};
  auto ev = events::decode(**recorded);
  if (!ev)
    return fail("router ledger: " + ev.error());
  return std::optional<events::event>{std::move(*ev)};
}

// Records `ev` under `key` before it is produced: from now on this input has this answer,
// whatever happens to the produce or the commit.
outcome<events::event> record_answer(router_state& st, const std::string& key, events::event ev) {
  auto bytes = events::encode(ev);
  if (!bytes)
    return fail(bytes.error());
  if (auto w = st.ledger->put({{key, *bytes}}); !w)
    return fail(w.error());
  return ev;
}

// The record that answers turn `t`: the ledger's when it was planned before (a crash or a
// rebalance before the commit, the same bytes again, never planned anew), else a new plan,
// recorded in the ledger before it is produced.
outcome<events::event> plan_turn(router_state& st, const core::conversation_memory& m,
                                 const core::turn_memory& t) {
  const auto& conversation = m.conversation_id();
  auto key = "p/" + t.query_id;
  auto recorded = recorded_answer(st, key);
  if (!recorded)
    return fail(recorded.error());
  if (*recorded) {
    EV_LOG(info) << "turn " << t.turn << " planned before conversationId=" << conversation
                 << ": answering from the router ledger";
    return std::move(**recorded);
  }
  // A follow-up is planned as the standalone question it stands for.
  std::string query = t.question;
  std::string resolved;
  auto history = m.history_before(t.turn);
  if (st.follow_up && !history.empty()) {
    const auto* last = history.back();
    if (auto r = st.follow_up(t.question, last->resolved.empty() ? last->question : last->resolved)) {
      resolved = *r;
      query = *r;
    }
  }
  std::vector<std::string> provider_errors;
  auto plan = st.planner(query, history, provider_errors);
  events::payload out;
  if (plan) {
    EV_LOG(info) << "planned conversationId=" << conversation << " turn=" << t.turn << " by "
                 << plan->provider << "/" << plan->model << " in " << plan->ms << " ms"
                 << (resolved.empty() ? "" : " as '" + resolved + "'");
    for (auto& e : plan->errors)
      EV_LOG(warning) << "planner fell back conversationId=" << conversation << ": " << e;
    events::plan_generated g{1, std::move(plan->plan_json), plan->provider, plan->model,
                             plan->ms, plan->prompt_tokens, plan->completion_tokens};
    g.resolved_query = resolved;
    g.asked_by = t.asked_by;
    g.turn = t.turn;
    out = std::move(g);
  } else {
    EV_LOG(info) << "planning failed conversationId=" << conversation << " turn=" << t.turn
                 << ": " << plan.error();
    events::planning_failed f{plan.error(), std::move(provider_errors)};
    f.turn = t.turn;
    out = std::move(f);
  }
  return record_answer(st, key, make_event(conversation, st.source, t.query_id, std::move(out)));
}

// Plans the conversation's next turn if one is due. `trigger`: the id of the question being
// handled (a question delivered again is answered again), else empty.
void plan_next(role_actor::stateful_pointer<router_state> self, const std::string& conversation,
               const std::string& trigger, done_fn done) {
  auto& st = self->state;
  auto& m = st.memories.at(conversation);
  const auto* t = m.next_to_plan();
  if (!t || (st.decided.count(t->query_id) && t->query_id != trigger)) {
    done(caf::error{});
    return;
  }
  auto ev = plan_turn(st, m, *t);
  if (!ev) {
    done(make_error(ec::handler_failed, ev.error()));
    return;
  }
  st.decided.insert(t->query_id);
  publish_all(self, st.producer, {std::move(*ev)}, std::move(done));
}

// The record that answers a revision request: the ledger's when answered before, else the
// reviser's decision, recorded in the ledger before it is produced (a replay never revises
// again).
outcome<events::event> revise_turn(router_state& st, const core::conversation_memory& m,
                                   const events::event& request) {
  const auto& req = std::get<events::plan_revision_requested>(request.data);
  auto key = "r/" + request.id;
  auto recorded = recorded_answer(st, key);
  if (!recorded)
    return fail(recorded.error());
  if (*recorded)
    return std::move(**recorded);
  const int turn = events::turn_of(request.data);
  const auto* t = m.find(turn);
  if (!t || t->plan_json.empty())
    return fail("PlanRevisionRequested of turn " + std::to_string(turn) + ", which has no plan");
  providers::revision_input in;
  in.observations_json = req.observations_json;
  in.failed_step = req.failed_step;
  in.reason = req.reason;
  in.question = t->resolved.empty() ? t->question : t->resolved;
  in.plan_json = t->plan_json;
  std::vector<std::string> errors;
  outcome<providers::revision_result> decided =
    st.reviser ? st.reviser(in, errors) : outcome<providers::revision_result>(providers::revision_result{});
  events::plan_revised r;
  r.plan_version = req.plan_version + 1;
  r.turn = turn;
  if (decided) {
    r.plan_json = decided->plan_json;
    r.rationale = decided->rationale;
    r.planner_provider = decided->provider;
    r.planner_model = decided->model;
    r.planning_ms = decided->ms;
    r.prompt_tokens = decided->prompt_tokens;
    r.completion_tokens = decided->completion_tokens;
  } else {
    // No reviser could decide: the turn ends with what was observed, and says why.
    r.rationale = "no revision: " + decided.error();
    r.planner_provider = "none";
  }
  EV_LOG(info) << "revised conversationId=" << m.conversation_id() << " turn=" << turn << " to v"
               << r.plan_version << ": " << r.rationale;
  return record_answer(st, key, make_event(m.conversation_id(), st.source, request.id, std::move(r)));
}

void answer_revision(role_actor::stateful_pointer<router_state> self,
                     const core::conversation_memory& m, const events::event& request,
                     done_fn done) {
  auto ev = revise_turn(self->state, m, request);
  if (!ev) {
    done(make_error(ec::handler_failed, ev.error()));
    return;
  }
  publish_all(self, self->state.producer, {std::move(*ev)}, std::move(done));
}

} // namespace

role_actor::behavior_type router(role_actor::stateful_pointer<router_state> self,
                                 router_config cfg) {
  auto& st = self->state;
  st.producer = std::move(cfg.producer);
  st.planner = std::move(cfg.planner);
  st.follow_up = std::move(cfg.follow_up);
  st.reviser = std::move(cfg.reviser);
  st.source = std::move(cfg.source);
  st.ledger = std::move(cfg.store);
  st.max_turns = std::max<size_t>(1, cfg.memory_turns);
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (!core::conversation_memory::folds(in.ev.data))
        return ok_atom::value; // steps and results: the orchestrator's
      const auto conversation = in.ev.subject;
      auto& m = memory_of(st, conversation, in.partition);
      if (auto applied = m.apply(in.ev); !applied) {
        if (in.replayed)
          return ok_atom::value; // dead-lettered when it was first handled
        return make_error(ec::handler_failed, applied.error());
      }
      // The plan of a turn is back from the log: it is the memory's now.
      if (std::holds_alternative<events::plan_generated>(in.ev.data)
          || std::holds_alternative<events::planning_failed>(in.ev.data))
        st.decided.erase(in.ev.causation_id);
      if (std::holds_alternative<events::plan_revision_requested>(in.ev.data)) {
        const int turn = events::turn_of(in.ev.data);
        if (const auto* t = m.find(turn); !t || t->plan_json.empty()) {
          if (in.replayed)
            return ok_atom::value; // dead-lettered when it was first handled
          return make_error(ec::handler_failed, "PlanRevisionRequested of turn "
                                                  + std::to_string(turn) + ", which has no plan");
        }
        st.pending_revisions.emplace(in.ev.id, in.ev);
      } else if (std::holds_alternative<events::plan_revised>(in.ev.data))
        st.pending_revisions.erase(in.ev.causation_id);
      if (!st.live) {
        st.unsaved.insert(conversation); // restore mode defers snapshots to go-live
        return ok_atom::value;
      }
      if (auto saved = persist(st, m); !saved)
        return make_error(ec::produce_failed, "cannot store the memory of conversationId="
                                                + conversation + ": " + saved.error());
      crash_point(core::crash_site::after_snapshot, conversation.c_str());
      if (m.answered_through() == m.last_asked()) {
        // Every turn asked is answered: the memory waits in the store for the next question.
        st.memories.erase(conversation);
        st.partition_of.erase(conversation);
        return ok_atom::value;
      }
      if (std::holds_alternative<events::plan_revision_requested>(in.ev.data)) {
        st.pending_revisions.erase(in.ev.id); // answered now (again, from the ledger, if redelivered)
        auto rp = self->make_response_promise<ok_atom>();
        answer_revision(self, m, in.ev, reply_to(rp));
        return rp;
      }
      bool question = std::holds_alternative<events::user_query_received>(in.ev.data);
      auto rp = self->make_response_promise<ok_atom>();
      plan_next(self, conversation, question ? in.ev.id : std::string(), reply_to(rp));
      return rp;
    },
    [self](restore_atom) {
      auto& st = self->state;
      st.live = false;
      // Until go-live persists what is folded from now on, a restart must not trust this
      // store for the partitions held so far (newly assigned ones lost their marker when the
      // bridge read it).
      if (auto r = mark_cover(*st.ledger, st.assigned, false); !r)
        EV_LOG(error) << "cannot clear router store coverage: " << r.error();
    },
    [self](live_atom, const std::vector<int32_t>& parts) -> caf::result<ok_atom> {
      auto& st = self->state;
      st.live = true;
      st.assigned = parts;
      // The snapshots restore mode deferred, then the marker: the store now reflects these
      // partitions up to the end of what was replayed.
      bool saved = true;
      for (auto& conversation : std::exchange(st.unsaved, {}))
        if (auto it = st.memories.find(conversation); it != st.memories.end())
          if (auto r = persist(st, it->second); !r) {
            EV_LOG(error) << "cannot store the memory of conversationId=" << conversation << ": "
                          << r.error() << "; the next restart replays its partition";
            saved = false;
          }
      if (saved)
        if (auto r = mark_cover(*st.ledger, parts, true); !r)
          EV_LOG(error) << "cannot mark router store coverage: " << r.error();
      std::unordered_set<int32_t> owned(parts.begin(), parts.end());
      std::vector<std::string> due;
      for (auto& [conversation, m] : st.memories)
        if (owned.count(st.partition_of[conversation]) && m.next_to_plan())
          due.push_back(conversation);
      // And the revision requests read while restoring that the log has no answer to yet
      // (by request id: never a conversation id, which has no '/').
      for (auto& [id, request] : st.pending_revisions)
        if (owned.count(st.partition_of[request.subject]) && st.memories.count(request.subject))
          due.push_back(id);
      auto rp = self->make_response_promise<ok_atom>();
      emit_each_then_reply(due, "plan or revise after restore",
                           [self](const std::string& id, done_fn done) {
                             auto& st = self->state;
                             auto request = st.pending_revisions.find(id);
                             if (request == st.pending_revisions.end()) {
                               plan_next(self, id, "", std::move(done));
                               return;
                             }
                             auto ev = request->second;
                             st.pending_revisions.erase(request);
                             answer_revision(self, st.memories.at(ev.subject), ev, std::move(done));
                           },
                           rp);
      return rp;
    },
    [self](revoke_atom, const std::vector<int32_t>& parts) {
      auto& st = self->state;
      std::unordered_set<int32_t> gone(parts.begin(), parts.end());
      std::vector<std::string> stale;
      for (auto p : parts)
        stale.push_back(cover_key(p));
      for (auto it = st.partition_of.begin(); it != st.partition_of.end();) {
        if (gone.count(it->second)) {
          // Replayed by whoever owns the partition next (this node again after an aborted
          // transaction): nothing decided here is trusted until it is back from the log, and
          // this store stops reflecting it.
          stale.push_back(memory_key(it->first));
          st.memories.erase(it->first);
          st.unsaved.erase(it->first);
          for (auto r = st.pending_revisions.begin(); r != st.pending_revisions.end();)
            r = r->second.subject == it->first ? st.pending_revisions.erase(r) : std::next(r);
          for (auto d = st.decided.begin(); d != st.decided.end();)
            d = owned_by(*d, it->first) ? st.decided.erase(d) : std::next(d);
          it = st.partition_of.erase(it);
        } else {
          ++it;
        }
      }
      if (auto r = st.ledger->write({}, stale); !r)
        EV_LOG(error) << "cannot drop handed-over partitions from the router store: "
                      << r.error();
    },
  };
}

reviser_fn offline_reviser(providers::planner_context ctx) {
  return [ctx = std::move(ctx)](const providers::revision_input& in, std::vector<std::string>&) {
    return providers::revise_offline(in, ctx);
  };
}

follow_up_fn offline_follow_ups(providers::planner_context ctx) {
  return [ctx = std::move(ctx)](const std::string& question, const std::string& previous) {
    return providers::resolve_follow_up(question, previous, ctx);
  };
}

planner_fn offline_planner(providers::planner_context ctx) {
  // The follow-up is resolved before it gets here: the rules need no history.
  return [ctx = std::move(ctx)](const std::string& query,
                                const std::vector<const core::turn_memory*>&,
                                std::vector<std::string>& errors)
           -> outcome<providers::planning_result> {
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
}

role_actor spawn_router(caf::actor_system& sys, producer_actor producer,
                        providers::planner_context ctx, std::string source,
                        std::shared_ptr<storage::kv_store> store, size_t memory_turns) {
  router_config cfg;
  cfg.producer = std::move(producer);
  cfg.follow_up = offline_follow_ups(ctx);
  cfg.reviser = offline_reviser(ctx);
  cfg.planner = offline_planner(std::move(ctx));
  cfg.source = std::move(source);
  cfg.store = std::move(store);
  cfg.memory_turns = memory_turns;
  return sys.spawn(router, std::move(cfg));
}

} // namespace eventide
