// Helpers of the orchestrator's fold shared by its files (plan_state.cpp: apply and decide;
// plan_state_saga.cpp: the saga; plan_state_decisions.cpp: approvals, cancellation, budgets).
// Not for use outside core/plan_state*.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "core/plan.hpp"
#include "core/plan_state.hpp"

namespace eventide::core::plan_detail {

inline bool terminal(step_status s) { return s == step_status::succeeded || s == step_status::failed; }

inline step_state* find_step(std::vector<step_state>& steps, const std::string& id) {
  for (auto& s : steps)
    if (s.step.id == id)
      return &s;
  return nullptr;
}

inline bool is_effect(const step_state& s) {
  const tool_spec* t = find_tool(s.step.tool);
  return t && t->effect;
}

// A request folded into a step or a compensation (same fields). A newer attempt (re)starts it
// unless it is already decided; the same attempt again only refreshes what was asked, so
// duplicates and requests that arrive after their own result change nothing else.
template <class Run>
void fold_request(Run& run, const events::tool_invocation_requested& r) {
  if (r.attempt < run.attempt)
    return;
  if (r.attempt > run.attempt && !terminal(run.status))
    run.status = step_status::requested;
  run.attempt = r.attempt;
  run.deadline = r.deadline;
  run.args_json = r.args_json;
}

// A result folded into a step or a compensation that is not decided yet.
template <class Run>
void fold_result(Run& run, const events::tool_invocation_resulted& r, int64_t time_ms,
                 const orchestration_policy& policy, int max_attempts) {
  if (r.ok) {
    run.status = step_status::succeeded;
    run.result_json = r.result_json;
    run.attempt = std::max(run.attempt, r.attempt);
    return;
  }
  if (!r.retryable) {
    run.status = step_status::failed;
    run.error = r.error;
    run.attempt = std::max(run.attempt, r.attempt);
    return;
  }
  // Stale: an older attempt already superseded, or this attempt's error seen before.
  if (r.attempt < run.attempt || (r.attempt == run.attempt && run.status == step_status::pending))
    return;
  run.attempt = r.attempt;
  run.error = r.error;
  run.errors += 1;
  if (run.errors < max_attempts) {
    run.status = step_status::pending;
    run.not_before = time_ms + backoff_delay_ms(policy.retry_backoff, r.attempt, r.invocation_id);
  } else {
    run.status = step_status::failed;
  }
}

// Succeeded steps with a compensation, latest first: the order the saga undoes them in.
template <class Steps>
auto saga_order_of(Steps& steps) {
  std::vector<decltype(&steps.front())> order;
  for (auto& st : steps)
    if (st.status == step_status::succeeded && !st.step.compensation_tool.empty())
      order.push_back(&st);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->completed_seq > b->completed_seq; });
  return order;
}


// "bob" + ": too expensive": who decided and why, as the answer says it.
inline std::string by_whom(const std::string& user, const std::string& reason) {
  return user + (reason.empty() ? "" : ": " + reason);
}

// A step refused by a person or by the approval timeout (user empty) fails without running.
inline void deny(step_state& s, const std::string& user, const std::string& reason) {
  s.approval = approval_status::denied;
  s.status = step_status::failed;
  s.error = user.empty() ? reason : "approval denied by " + by_whom(user, reason);
  s.approval_note = s.error;
}

// The request of a step's or a compensation's latest attempt.
template <class Run>
events::tool_invocation_requested request_of(std::string invocation, const std::string& step,
                                             const std::string& tool, const Run& run) {
  events::tool_invocation_requested req;
  req.invocation_id = std::move(invocation);
  req.attempt = run.attempt;
  req.step_id = step;
  req.tool = tool;
  req.args_json = run.args_json;
  req.deadline = run.deadline;
  return req;
}

inline std::string usd_text(double amount) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", amount);
  return buf;
}


} // namespace eventide::core::plan_detail
