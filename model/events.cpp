#include "model/events.hpp"

#include <type_traits>

namespace eventide::events {

namespace {

template <class... Ts>
std::vector<std::string> names_of() {
  return {event_traits<Ts>::name...};
}

} // namespace

const char* type_name(const payload& p) {
  return std::visit([](const auto& v) { return event_traits<std::decay_t<decltype(v)>>::name; },
                    p);
}

const std::vector<std::string>& type_names() {
  // DESIGN §4 order.
  static const std::vector<std::string> names =
    names_of<user_query_received, plan_generated, planning_failed, tool_invocation_requested,
             tool_invocation_resulted, plan_step_completed, plan_completed, plan_failed,
             synthesize_final_answer_requested, final_answer_synthesized,
             plan_revision_requested, plan_revised, plan_compensated, compensation_failed,
             approval_requested, approval_submitted, approval_granted, approval_denied,
             cancel_requested, turn_cancelled, compensation_retry_requested>();
  return names;
}

int turn_of(const payload& p) {
  return std::visit([](const auto& v) { return v.turn; }, p);
}

const char* topic_of(const payload& p) {
  return std::visit([](const auto& v) { return event_traits<std::decay_t<decltype(v)>>::topic; },
                    p);
}

} // namespace eventide::events
