// The orchestrator fold's saga (DESIGN §15): after PlanFailed, the effects still in flight are
// awaited, then each succeeded effect step is undone in reverse completion order, one
// compensation at a time, ending in PlanCompensated or CompensationFailed.
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

std::vector<step_state*> conversation_state::saga_order() { return saga_order_of(steps_); }

bool conversation_state::effects_in_flight() const {
  return std::any_of(steps_.begin(), steps_.end(), [](const step_state& st) {
    return st.status == step_status::requested && is_effect(st);
  });
}

std::string conversation_state::compensations_json(const std::string& status_of_rest) const {
  json::document out;
  out.SetArray();
  auto& a = out.GetAllocator();
  auto entry = [&](const step_state& st, const char* status) {
    json::value o(rapidjson::kObjectType);
    o.AddMember("stepId", json::str(st.step.id, a), a);
    o.AddMember("tool", json::str(st.step.tool, a), a);
    o.AddMember("compensation", json::str(st.step.compensation_tool, a), a);
    o.AddMember("invocationId",
                json::str(make_compensation_id(scope_, st.step.id, saga_round_).get(), a), a);
    o.AddMember("status", json::str(status, a), a);
    if (std::string(status) == "done") {
      json::value v;
      if (auto parsed = json::parse(st.undo.result_json))
        v.CopyFrom(parsed.value(), a);
      o.AddMember("result", v, a);
    }
    const std::string& error = st.outcome_unknown ? st.error : st.undo.error;
    if (std::string(status) == "failed" || std::string(status) == "unknown")
      o.AddMember("error", json::str(error, a), a);
    out.PushBack(o, a);
  };
  for (const step_state* st : saga_order_of(steps_))
    entry(*st, st->undo.status == step_status::succeeded ? "done"
               : st->undo.status == step_status::failed  ? "failed"
                                                          : status_of_rest.c_str());
  for (const auto& st : steps_)
    if (st.outcome_unknown && !st.step.compensation_tool.empty())
      entry(st, "unknown");
  return json::dump(out);
}

void conversation_state::decide_saga(int64_t now_ms, std::vector<events::payload>& out) {
  // 1. An effect still in flight may happen yet: wait for its result (asking again when overdue:
  //    the same invocation id, so the shop answers with what it did) before undoing anything.
  bool waiting = false;
  for (auto& st : steps_) {
    if (st.status != step_status::requested || !is_effect(st) || st.outcome_unknown)
      continue;
    if (now_ms >= st.deadline) {
      if (st.attempt >= policy_.max_attempts) {
        st.status = step_status::failed;
        st.outcome_unknown = true;
        st.error = "no result after " + std::to_string(st.attempt)
                   + " attempts: whether its effect happened is not known";
        continue;
      }
      st.attempt += 1;
      st.deadline = now_ms + policy_.step_timeout_ms;
      out.emplace_back(request_of(make_invocation_id(scope_, st.version, st.step.id).get(),
                                  st.step.id, st.step.tool, st));
    }
    waiting = true;
  }
  if (waiting)
    return;

  // 2. One compensation at a time, the latest effect first.
  std::vector<std::string> ids;
  std::map<std::string, std::string> results;
  for (const auto& st : steps_) {
    ids.push_back(st.step.id);
    if (st.status == step_status::succeeded)
      results[st.step.id] = st.result_json;
  }
  auto stop = [&](step_state& st) {
    saga_recorded_ = true;
    saga_failed_ = true;
    events::compensation_failed f;
    f.plan_version = plan_version_;
    f.round = saga_round_;
    f.compensations_json = compensations_json("not_run");
    f.failed_step = st.step.id;
    f.error = st.outcome_unknown ? st.error
                                 : "compensation " + st.step.compensation_tool + " of step "
                                     + st.step.id + " failed: " + st.undo.error;
    out.emplace_back(std::move(f));
  };
  for (step_state* st : saga_order()) {
    auto& undo = st->undo;
    if (undo.status == step_status::succeeded)
      continue;
    if (undo.status == step_status::failed)
      return stop(*st);
    if (undo.status == step_status::pending) {
      if (now_ms < undo.not_before)
        return;
      if (undo.attempt == 0) {
        auto args = resolve_placeholders(st->step.compensation_args_json, results, ids);
        if (!args) {
          undo.status = step_status::failed;
          undo.error = args.error();
          return stop(*st);
        }
        undo.args_json = std::move(args).value();
      }
    } else if (now_ms < undo.deadline) {
      return; // requested, not overdue
    }
    undo.status = step_status::requested;
    undo.attempt += 1;
    undo.deadline = now_ms + policy_.step_timeout_ms;
    out.emplace_back(request_of(make_compensation_id(scope_, st->step.id, saga_round_).get(),
                                st->step.id, st->step.compensation_tool, undo));
    return;
  }
  // 3. Every succeeded effect is undone; one that never answered is left for an operator.
  for (auto& st : steps_)
    if (st.outcome_unknown && !st.step.compensation_tool.empty())
      return stop(st);
  saga_recorded_ = true;
  saga_failed_ = false;
  events::plan_compensated done;
  done.plan_version = plan_version_;
  done.round = saga_round_;
  done.compensations_json = compensations_json("not_run");
  out.emplace_back(std::move(done));
}

void conversation_state::end_saga(const std::string& compensations, bool failed) {
  saga_open_ = true;
  saga_recorded_ = true;
  saga_failed_ = failed;
  unlogged_.clear(); // the saga's end is in the log: nothing else is still wanted
  // What the record says of each step, so a replay that never saw the decisions behind it (args
  // that could not be resolved, an effect that never answered) ends in the same state.
  auto doc = json::parse(compensations);
  if (!doc || !doc->IsArray())
    return;
  for (const auto& entry : doc->GetArray()) {
    auto id = json::get_string(entry, "stepId");
    auto status = json::get_string(entry, "status");
    step_state* st = id ? find_step(steps_, *id) : nullptr;
    if (!st || !status)
      continue;
    auto error = json::get_string(entry, "error").value_or("");
    if (*status == "unknown" && st->status == step_status::requested) {
      st->status = step_status::failed;
      st->outcome_unknown = true;
      st->error = error;
    } else if (*status == "failed" && !terminal(st->undo.status)) {
      st->undo.status = step_status::failed;
      st->undo.error = error;
    }
  }
}

} // namespace eventide::core
