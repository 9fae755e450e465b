#include "core/event_ids.hpp"

#include <type_traits>

#include "model/ids.hpp"

namespace eventide::core {

std::string deterministic_id(const std::string& conversation, const events::payload& p) {
  const std::string conv = turn_scope(conversation, events::turn_of(p));
  return std::visit(
    [&](const auto& d) -> std::string {
      using T = std::decay_t<decltype(d)>;
      using std::to_string;
      if constexpr (std::is_same_v<T, events::user_query_received>)
        return conv + "/query";
      else if constexpr (std::is_same_v<T, events::plan_generated>)
        return conv + "/plan/" + to_string(d.plan_version);
      else if constexpr (std::is_same_v<T, events::planning_failed>)
        return conv + "/planning-failed";
      else if constexpr (std::is_same_v<T, events::tool_invocation_requested>)
        return d.invocation_id + "/request/" + to_string(d.attempt);
      else if constexpr (std::is_same_v<T, events::tool_invocation_resulted>)
        return d.invocation_id + "/result/" + to_string(d.attempt);
      else if constexpr (std::is_same_v<T, events::plan_step_completed>)
        return conv + "/step/" + d.step_id + "/completed";
      else if constexpr (std::is_same_v<T, events::plan_completed>)
        return conv + "/" + to_string(d.plan_version) + "/completed";
      else if constexpr (std::is_same_v<T, events::plan_failed>)
        return conv + "/" + to_string(d.plan_version) + "/failed";
      else if constexpr (std::is_same_v<T, events::plan_revision_requested>)
        return conv + "/" + to_string(d.plan_version) + "/revise";
      else if constexpr (std::is_same_v<T, events::plan_revised>)
        return conv + "/plan/" + to_string(d.plan_version);
      else if constexpr (std::is_same_v<T, events::plan_compensated>)
        return conv + "/compensated" + (d.round > 0 ? "/" + to_string(d.round) : "");
      else if constexpr (std::is_same_v<T, events::compensation_failed>)
        return conv + "/compensation-failed" + (d.round > 0 ? "/" + to_string(d.round) : "");
      else if constexpr (std::is_same_v<T, events::compensation_retry_requested>)
        return conv + "/compensation-retry/" + d.user_id; // the CLI adds a unique suffix
      else if constexpr (std::is_same_v<T, events::approval_requested>)
        return conv + "/approval/" + d.step_id;
      else if constexpr (std::is_same_v<T, events::approval_submitted>)
        return conv + "/approval/" + d.step_id + "/" + (d.approve ? "approve" : "reject") + "/"
               + d.user_id; // the CLI adds a unique suffix: a second submission is its own record
      else if constexpr (std::is_same_v<T, events::approval_granted>)
        return conv + "/approval/" + d.step_id + "/granted";
      else if constexpr (std::is_same_v<T, events::approval_denied>)
        return conv + "/approval/" + d.step_id + "/denied";
      else if constexpr (std::is_same_v<T, events::cancel_requested>)
        return conv + "/cancel/" + d.user_id; // the CLI adds a unique suffix
      else if constexpr (std::is_same_v<T, events::turn_cancelled>)
        return conv + "/cancelled";
      else if constexpr (std::is_same_v<T, events::synthesize_final_answer_requested>)
        return conv + "/synthesize";
      else
        return conv + "/answer";
    },
    p);
}

} // namespace eventide::core
