#include "actors/answer_roles.hpp"

#include <vector>

#include "actors/emit.hpp"
#include "actors/logging.hpp"
#include "core/answer_folds.hpp"
#include "providers/llm_tools.hpp"
#include "providers/synthesis.hpp"

namespace eventide {

namespace {

using caf::ok_atom;

// A role whose per-conversation state is a fold kept in fold_role_state's map.
// `decide(fold)` returns the payloads to emit.
template <class Fold, class Decide>
role_actor::behavior_type fold_role(typename role_actor::stateful_pointer<fold_role_state<Fold>> self,
                                    producer_actor producer, std::string source, Decide decide) {
  self->state.producer = std::move(producer);
  self->state.source = std::move(source);
  // Emits what turn `id` (a turn_scope) implies; forgets it once done (its output is in the
  // log).
  auto step = [self, decide](const std::string& id, const std::string& causation, done_fn done) {
    auto& st = self->state;
    auto it = st.folds.find(id);
    auto [conversation, turn] = split_turn_scope(id);
    std::vector<events::event> evs;
    for (auto& p : decide(it->second)) {
      std::visit([turn = turn](auto& d) { d.turn = turn; }, p);
      evs.push_back(make_event(conversation, st.source, causation, std::move(p)));
    }
    if (it->second.done()) {
      st.folds.erase(it);
      st.done.insert(id);
    }
    publish_all(self, st.producer, std::move(evs), std::move(done));
  };
  return {
    [self, step](inbound& in) -> caf::result<ok_atom> {
      auto& st = self->state;
      // One fold per turn of a conversation.
      const auto id = turn_scope(in.ev.subject, events::turn_of(in.ev.data));
      if (st.done.count(id))
        return ok_atom::value;
      auto& fold = st.folds[id];
      st.partition_of[id] = in.partition;
      fold.apply(in.ev);
      if (!st.live) {
        if (fold.done()) {
          st.folds.erase(id);
          st.done.insert(id);
        }
        return ok_atom::value;
      }
      auto rp = self->template make_response_promise<ok_atom>();
      step(id, in.ev.id, reply_to(rp));
      return rp;
    },
    [self](restore_atom) { self->state.live = false; },
    [self, step](live_atom, const std::vector<int32_t>&) -> caf::result<ok_atom> {
      auto& st = self->state;
      st.live = true;
      std::vector<std::string> ids;
      for (auto& [id, f] : st.folds)
        ids.push_back(id);
      auto rp = self->template make_response_promise<ok_atom>();
      emit_each_then_reply(ids, "emit after restore",
                           [step](const std::string& id, done_fn done) {
                             step(id, "", std::move(done));
                           },
                           rp);
      return rp;
    },
    [self](revoke_atom, const std::vector<int32_t>& parts) {
      auto& st = self->state;
      std::unordered_set<int32_t> gone(parts.begin(), parts.end());
      for (auto it = st.partition_of.begin(); it != st.partition_of.end();) {
        if (gone.count(it->second)) {
          // Done ones too: after an aborted transaction (exactly-once) the bridge revokes and
          // replays the partitions, and an answer decided in that transaction must be decided
          // again; the replay marks done again what the log shows answered.
          st.folds.erase(it->first);
          st.done.erase(it->first);
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
                                  req->failed_step, req->decisions, req->compensations_json};
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

role_actor spawn_aggregator(caf::actor_system& sys, producer_actor producer, std::string source) {
  return sys.spawn(fold_role<core::aggregation_fold, decltype(&decide_aggregation)>,
                   std::move(producer), std::move(source), &decide_aggregation);
}

role_actor spawn_synthesis(caf::actor_system& sys, producer_actor producer, std::string source,
                           std::shared_ptr<providers::provider_runtime> runtime) {
  auto llm = runtime != nullptr;
  decide_synthesis decide{std::move(runtime)};
  return llm ? sys.spawn<caf::detached>(fold_role<core::synthesis_fold, decide_synthesis>,
                                        std::move(producer), std::move(source), decide)
             : sys.spawn(fold_role<core::synthesis_fold, decide_synthesis>, std::move(producer),
                         std::move(source), decide);
}

} // namespace eventide
