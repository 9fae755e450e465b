#include "actors/router.hpp"

#include <chrono>

#include "actors/emit.hpp"
#include "actors/logging.hpp"

namespace eventide {

using caf::ok_atom;

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

} // namespace eventide
