#include "actors/router.hpp"

#include <chrono>

#include "actors/emit.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "schemas/codec.hpp"

namespace eventide {

using caf::ok_atom;

role_actor::behavior_type router(role_actor::stateful_pointer<router_state> self,
                                 producer_actor producer, planner_fn planner,
                                 std::string source, std::shared_ptr<storage::kv_store> ledger) {
  self->state.producer = std::move(producer);
  self->state.planner = std::move(planner);
  self->state.source = std::move(source);
  self->state.ledger = std::move(ledger);
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto q = std::get_if<events::user_query_received>(&in.ev.data);
      if (!q)
        return ok_atom::value;
      auto& st = self->state;
      auto key = "p/" + in.ev.id;
      auto recorded = st.ledger->get(key);
      if (!recorded)
        return make_error(ec::handler_failed, recorded.error());
      if (*recorded) {
        auto ev = events::decode(**recorded);
        if (!ev)
          return make_error(ec::handler_failed, "router ledger: " + ev.error());
        EV_LOG(info) << "query delivered again conversationId=" << in.ev.subject
                     << ": answering from the router ledger";
        auto rp = self->make_response_promise<ok_atom>();
        publish_all(self, st.producer, {std::move(*ev)}, reply_to(rp));
        return rp;
      }
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
      auto ev = make_event(in.ev.subject, st.source, in.ev.id, std::move(out));
      auto bytes = events::encode(ev);
      if (!bytes)
        return make_error(ec::invalid_event, bytes.error());
      // Recorded before it is produced: from now on this query has this answer, whatever
      // happens to the produce or the commit.
      if (auto w = st.ledger->put({{key, *bytes}}); !w)
        return make_error(ec::handler_failed, w.error());
      auto rp = self->make_response_promise<ok_atom>();
      publish_all(self, st.producer, {std::move(ev)}, reply_to(rp));
      return rp;
    },
    [](restore_atom) {},
    [](live_atom, const std::vector<int32_t>&) { return ok_atom::value; },
    [](revoke_atom, const std::vector<int32_t>&) {},
  };
}

planner_fn offline_planner(providers::planner_context ctx) {
  return [ctx = std::move(ctx)](const std::string& query, std::vector<std::string>& errors)
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
                        std::shared_ptr<storage::kv_store> ledger) {
  return sys.spawn(router, std::move(producer), offline_planner(std::move(ctx)),
                   std::move(source), std::move(ledger));
}

} // namespace eventide
