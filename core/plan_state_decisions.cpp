// The orchestrator fold's checks and decisions about people and limits (DESIGN §15): who may
// decide, which records of approvals, cancellations and saga retries it refuses, when a step
// needs approval, and the budgets of a turn.
#include "core/plan_state.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "core/json.hpp"
#include "core/placeholders.hpp"
#include "core/plan_state_internal.hpp"
#include "model/ids.hpp"

namespace eventide::core {

using namespace plan_detail;

std::optional<std::string> conversation_state::may_not_decide(const std::string& user) const {
  const auto& allowed = policy_.approvers;
  if (!allowed.empty()) {
    if (std::find(allowed.begin(), allowed.end(), user) != allowed.end())
      return std::nullopt;
    std::string names;
    for (const auto& a : allowed)
      names += (names.empty() ? "" : ", ") + a;
    return "user '" + user + "' may not decide (approvers: " + names + ")";
  }
  if (asked_by_.empty() || user == asked_by_)
    return std::nullopt; // a log written before askedBy: nobody to compare with
  return "user '" + user + "' may not decide: only '" + asked_by_
         + "', who asked, may (or the configured approvers)";
}

std::optional<std::string> conversation_state::refuses_decision(const events::event& e) const {
  const auto turn = " of turn " + std::to_string(turn_);
  const char* type = events::type_name(e.data);
  auto plan_needed = [&]() -> std::optional<std::string> {
    if (status_ == plan_status::pending)
      return std::string(type) + turn + ", which has no plan";
    return std::nullopt;
  };
  auto step_of = [&](const std::string& id) -> const step_state* {
    for (const auto& st : steps_)
      if (st.step.id == id)
        return &st;
    return nullptr;
  };
  if (auto r = std::get_if<events::approval_requested>(&e.data)) {
    // Only as this fold would ask: a forged request must neither hold a step nor change the
    // args it runs with once approved.
    if (auto why = plan_needed())
      return why;
    const step_state* st = step_of(r->step_id);
    if (!st)
      return "no step '" + r->step_id + "' in turn " + std::to_string(turn_);
    const auto which = "ApprovalRequested for step " + r->step_id + turn;
    if (st->approval != approval_status::none)
      return st->args_json == r->args_json ? std::nullopt
                                           : std::optional<std::string>(which + " with other args");
    if (st->status != step_status::pending || st->attempt > 0)
      return which + ", which is not about to run";
    std::vector<std::string> ids;
    std::map<std::string, std::string> results;
    for (const auto& other : steps_) {
      ids.push_back(other.step.id);
      if (other.status == step_status::succeeded)
        results[other.step.id] = other.result_json;
    }
    auto args = resolve_placeholders(st->step.args_json, results, ids);
    if (!args || *args != r->args_json)
      return which + " with args the step does not have";
    step_state probe = *st;
    probe.args_json = *args;
    if (!approval_needed(probe))
      return which + ", which needs no approval";
    return std::nullopt;
  }
  if (auto a = std::get_if<events::approval_submitted>(&e.data)) {
    if (auto why = plan_needed())
      return why;
    const step_state* st = step_of(a->step_id);
    if (!st)
      return "no step '" + a->step_id + "' in turn " + std::to_string(turn_);
    const auto which = "step " + a->step_id + turn;
    if (st->approval == approval_status::granted || st->approval == approval_status::denied)
      return which + " was already decided (" + st->approval_note + ")";
    if (finish_recorded_)
      return "turn " + std::to_string(turn_) + " already ended";
    if (st->approval == approval_status::none)
      return which + " is not waiting for approval";
    if (submitted_.count(a->step_id))
      return which + " already has a decision to record";
    return may_not_decide(a->user_id);
  }
  if (auto g = std::get_if<events::approval_granted>(&e.data)) {
    const step_state* st = step_of(g->step_id);
    if (st && st->approval == approval_status::granted)
      return std::nullopt; // again: changes nothing
    auto it = submitted_.find(g->step_id);
    if (!st || it == submitted_.end() || !it->second.approve || it->second.user != g->user_id)
      return "ApprovalGranted for step " + g->step_id + turn
             + ", which no accepted approval asked for";
    return std::nullopt;
  }
  if (auto d = std::get_if<events::approval_denied>(&e.data)) {
    const step_state* st = step_of(d->step_id);
    if (st && st->approval == approval_status::denied)
      return std::nullopt;
    auto it = submitted_.find(d->step_id);
    bool rejected = it != submitted_.end() && !it->second.approve && it->second.user == d->user_id;
    bool expired = st && st->approval == approval_status::requested && d->user_id.empty()
                   && e.time_ms >= st->approval_expires;
    if (!st || !(rejected || expired))
      return "ApprovalDenied for step " + d->step_id + turn
             + ", which no accepted rejection or expired approval asked for";
    return std::nullopt;
  }
  if (auto c = std::get_if<events::cancel_requested>(&e.data)) {
    if (auto why = plan_needed())
      return why;
    if (finish_recorded_ || cancel_recorded_)
      return "turn " + std::to_string(turn_) + " already ended";
    if (cancel_)
      return "turn " + std::to_string(turn_) + " is already being cancelled";
    return may_not_decide(c->user_id);
  }
  if (auto r = std::get_if<events::compensation_retry_requested>(&e.data)) {
    if (auto why = plan_needed())
      return why;
    if (!saga_recorded_ || !saga_failed_)
      return "turn " + std::to_string(turn_) + " has no saga that stopped with effects left";
    return may_not_decide(r->user_id);
  }
  if (std::holds_alternative<events::turn_cancelled>(e.data)) {
    if (!cancel_recorded_ && !cancel_)
      return "TurnCancelled" + turn + ", which nobody asked to cancel";
    return std::nullopt;
  }
  return std::nullopt;
}


std::optional<std::string> conversation_state::approval_needed(const step_state& s) const {
  if (s.step.approval_required)
    return "the plan asks for approval of this step";
  const tool_spec* tool = find_tool(s.step.tool);
  if (!tool || tool->approval == approval_policy::never)
    return std::nullopt;
  if (tool->approval == approval_policy::always)
    return s.step.tool + " always needs approval";
  auto args = json::parse(s.args_json);
  std::optional<double> amount;
  std::string currency = "USD";
  if (args && args->IsObject()) {
    if (auto it = args->FindMember("amount"); it != args->MemberEnd() && it->value.IsNumber())
      amount = it->value.GetDouble();
    currency = json::get_string(*args, "currency").value_or("USD");
  }
  if (!amount)
    return "its amount is not a number, so it cannot be held against the approval threshold";
  auto usd = policy_.usd_value ? policy_.usd_value(*amount, currency) : std::optional<double>();
  const std::string what = usd_text(*amount) + " " + currency;
  if (!usd)
    return "the amount " + what + " cannot be valued in USD";
  if (*usd <= policy_.approval_threshold_usd)
    return std::nullopt;
  return "the amount " + what + (currency == "USD" ? "" : " (" + usd_text(*usd) + " USD)")
         + " is above the approval threshold of " + usd_text(policy_.approval_threshold_usd)
         + " USD";
}

bool conversation_state::approved_to_run(step_state& s, int64_t now_ms,
                                         std::vector<events::payload>& out) {
  switch (s.approval) {
    case approval_status::granted:
      return true;
    case approval_status::denied:
      return false;
    case approval_status::none: {
      auto why = approval_needed(s);
      if (!why)
        return true;
      s.approval = approval_status::requested;
      s.approval_expires = now_ms + policy_.approval_timeout_ms;
      s.approval_note = *why;
      // What reading the record back would do (its time is now_ms): a fold rebuilt from the log
      // reads only the record, and the two must agree.
      last_progress_ms_ = std::max(last_progress_ms_, now_ms);
      out.emplace_back(events::approval_requested{s.version, s.step.id, s.step.tool, s.args_json,
                                                  *why, s.approval_expires});
      return false;
    }
    case approval_status::requested:
      break;
  }
  if (auto it = submitted_.find(s.step.id); it != submitted_.end()) {
    auto d = it->second;
    submitted_.erase(it);
    if (d.approve) {
      s.approval = approval_status::granted;
      s.approval_note = "approved by " + by_whom(d.user, d.reason);
      last_progress_ms_ = std::max(last_progress_ms_, now_ms); // as for the request
      out.emplace_back(events::approval_granted{s.step.id, d.user, d.reason});
      return true;
    }
    deny(s, d.user, d.reason);
    out.emplace_back(events::approval_denied{s.step.id, d.user, d.reason});
    return false;
  }
  if (now_ms >= s.approval_expires) {
    const auto ms = policy_.approval_timeout_ms;
    auto why = "no decision within approval-timeout ("
               + (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s)" : std::to_string(ms) + " ms)");
    deny(s, "", why);
    out.emplace_back(events::approval_denied{s.step.id, "", why});
  }
  return false;
}

void conversation_state::spend(int64_t tokens, const std::string& model) {
  if (tokens <= 0)
    return;
  tokens_used_ += tokens;
  if (auto price = policy_.usd_per_1k_tokens.find(model); price != policy_.usd_per_1k_tokens.end())
    cost_usd_ += price->second * static_cast<double>(tokens) / 1000;
}

std::optional<std::string> conversation_state::over_budget(int64_t now_ms,
                                                           bool new_invocation) const {
  const auto& p = policy_;
  if (p.max_llm_tokens > 0 && tokens_used_ > p.max_llm_tokens)
    return "budget exceeded: " + std::to_string(tokens_used_) + " LLM tokens used, max-turn-tokens is "
           + std::to_string(p.max_llm_tokens);
  if (p.max_cost_usd > 0 && cost_usd_ > p.max_cost_usd)
    return "budget exceeded: " + usd_text(cost_usd_) + " USD of LLM tokens, max-turn-cost-usd is "
           + usd_text(p.max_cost_usd);
  if (p.max_wall_ms > 0 && started_ms_ >= 0 && now_ms - started_ms_ > p.max_wall_ms)
    return "budget exceeded: the turn ran " + std::to_string(now_ms - started_ms_)
           + " ms, max-turn-ms is " + std::to_string(p.max_wall_ms);
  if (new_invocation && p.max_tool_invocations > 0) {
    auto made = std::count_if(steps_.begin(), steps_.end(),
                              [](const step_state& s) { return s.attempt > 0; });
    if (made >= p.max_tool_invocations)
      return "budget exceeded: one more tool invocation after " + std::to_string(made)
             + ", max-turn-invocations is " + std::to_string(p.max_tool_invocations);
  }
  return std::nullopt;
}

} // namespace eventide::core
