#include "core/plan_state.hpp"
#include "core/plan_state_internal.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "core/event_ids.hpp"
#include "model/ids.hpp"
#include "core/json.hpp"
#include "core/placeholders.hpp"
#include "core/text.hpp"

namespace eventide::core {

using namespace plan_detail;
namespace {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace

const char* to_string(step_status s) {
  switch (s) {
    case step_status::pending: return "pending";
    case step_status::requested: return "requested";
    case step_status::succeeded: return "succeeded";
    case step_status::failed: return "failed";
  }
  return "unknown";
}

const char* to_string(plan_status s) {
  switch (s) {
    case plan_status::pending: return "pending";
    case plan_status::running: return "running";
    case plan_status::completed: return "completed";
    case plan_status::failed: return "failed";
  }
  return "unknown";
}

const char* to_string(approval_status s) {
  switch (s) {
    case approval_status::none: return "none";
    case approval_status::requested: return "requested";
    case approval_status::granted: return "granted";
    case approval_status::denied: return "denied";
  }
  return "unknown";
}

conversation_state::conversation_state(std::string conversation_id, orchestration_policy policy,
                                       std::string session, int turn)
    : conversation_id_(std::move(conversation_id)), turn_(turn),
      scope_(turn_scope(conversation_id_, turn)), policy_(policy), session_(std::move(session)) {}

std::vector<std::string> conversation_state::unlogged_ids() const {
  std::vector<std::string> ids;
  for (const auto& u : unlogged_)
    ids.push_back(u.id);
  return ids;
}

namespace {

// A step that may be re-planned ("onError": "replan") and failed: it does not fail the plan.
bool replannable_failure(const step_state& s) {
  return s.status == step_status::failed && (s.step.replan_on_error || s.replanned);
}

// The steps that depend on a re-plannable failure can never run: they are handed to the
// revision with it. Part of the fold (not of decide), so a replay marks them as the live run did.
void skip_dependents_of_replannable(std::vector<step_state>& steps) {
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& s : steps) {
      if (s.status != step_status::pending)
        continue;
      for (const auto& dep : s.step.depends_on)
        if (const step_state* d = find_step(steps, dep); d && replannable_failure(*d)) {
          s.status = step_status::failed;
          s.error = "not run: step " + dep + " failed";
          s.replanned = true;
          changed = true;
          break;
        }
    }
  }
}

// Object stepId -> result for the succeeded steps, in plan order. A result that is not valid
// JSON (a worker bug) is kept as a string rather than dropped.
std::string results_object(const std::vector<step_state>& steps) {
  json::document out;
  out.SetObject();
  auto& alloc = out.GetAllocator();
  for (const auto& s : steps) {
    if (s.status != step_status::succeeded)
      continue;
    json::value v;
    if (auto parsed = json::parse(s.result_json))
      v.CopyFrom(parsed.value(), alloc);
    else
      v = json::str(s.result_json, alloc);
    out.AddMember(json::str(s.step.id, alloc), v, alloc);
  }
  return json::dump(out);
}

} // namespace

void conversation_state::apply(const events::event& e) {
  if ((!e.subject.empty() && e.subject != conversation_id_) || events::turn_of(e.data) != turn_)
    return;
  if (!unlogged_.empty()) {
    auto logged = std::find_if(unlogged_.begin(), unlogged_.end(),
                               [&](const auto& u) { return u.id == e.id; });
    if (logged != unlogged_.end())
      unlogged_.erase(logged);
  }
  // Requests live on another topic than the plan, so a replay may deliver them (and even
  // results) first: keep them until the plan arrives instead of losing what they record.
  if (status_ == plan_status::pending
      && !std::holds_alternative<events::plan_generated>(e.data)) {
    if (std::holds_alternative<events::tool_invocation_requested>(e.data)
        || std::holds_alternative<events::tool_invocation_resulted>(e.data)
        || std::holds_alternative<events::plan_step_completed>(e.data))
      early_.push_back(e);
    return;
  }
  bool had_plan = status_ != plan_status::pending;
  apply_one(e);
  if (!had_plan && status_ != plan_status::pending && !early_.empty()) {
    auto early = std::move(early_);
    early_.clear();
    for (auto& x : early)
      apply_one(x);
  }
}

void conversation_state::apply_one(const events::event& e) {
  auto step_for = [this](const std::string& step_id,
                         const std::string& invocation) -> step_state* {
    if (status_ == plan_status::pending)
      return nullptr;
    step_state* s = find_step(steps_, step_id);
    if (!s || invocation != make_invocation_id(scope_, s->version, step_id).get())
      return nullptr; // another plan version or conversation
    return s;
  };

  auto undo_for = [this](const std::string& step_id,
                         const std::string& invocation) -> step_state* {
    if (status_ == plan_status::pending)
      return nullptr;
    step_state* s = find_step(steps_, step_id);
    if (!s || invocation != make_compensation_id(scope_, step_id, saga_round_).get())
      return nullptr; // another step, or a round before a retry
    return s;
  };

  std::visit(
      overloaded{
          [&](const events::plan_generated& g) {
            if (status_ != plan_status::pending && g.plan_version <= plan_version_)
              return; // duplicate or older plan
            plan_version_ = g.plan_version;
            base_version_ = g.plan_version;
            plan_json_ = g.plan_json;
            asked_by_ = g.asked_by;
            started_ms_ = e.time_ms;
            tokens_used_ = 0;
            cost_usd_ = 0;
            spend(std::max(g.prompt_tokens, 0) + std::max(g.completion_tokens, 0), g.planner_model);
            steps_.clear();
            revisions_.clear();
            replan_ = false;
            revision_requested_ = 0;
            revision_failure_.clear();
            failure_reason_.clear();
            failed_step_.clear();
            finish_recorded_ = false;
            last_progress_ms_ = e.time_ms;
            auto parsed = parse_plan(g.plan_json);
            if (!parsed) {
              status_ = plan_status::failed;
              failure_reason_ = "invalid plan: " + parsed.error();
              return;
            }
            status_ = plan_status::running;
            replan_ = parsed->replan;
            for (auto& step : parsed->steps) {
              step_state s;
              s.step = std::move(step);
              s.version = g.plan_version;
              steps_.push_back(std::move(s));
            }
          },
          [&](const events::plan_revision_requested& r) {
            if (status_ == plan_status::pending || r.plan_version < revision_requested_)
              return;
            revision_requested_ = r.plan_version;
            if (r.plan_version != plan_version_)
              return;
            last_progress_ms_ = std::max(last_progress_ms_, e.time_ms);
            revision_failure_ = r.failed_step.empty() ? std::string() : r.reason;
            for (auto& st : steps_)
              if (st.status == step_status::failed)
                st.replanned = true;
          },
          [&](const events::plan_revised& r) {
            if (status_ != plan_status::running || finish_recorded_
                || r.plan_version != plan_version_ + 1)
              return; // a duplicate, or a revision of a plan that already ended
            last_progress_ms_ = std::max(last_progress_ms_, e.time_ms);
            revision_requested_ = std::max(revision_requested_, plan_version_);
            spend(std::max(r.prompt_tokens, 0) + std::max(r.completion_tokens, 0), r.planner_model);
            if (auto added = add_revision(r.plan_json, r.plan_version); !added) {
              status_ = plan_status::failed;
              failure_reason_ = "invalid plan revision " + std::to_string(r.plan_version) + ": "
                                + added.error();
            }
          },
          [&](const events::tool_invocation_requested& r) {
            if (step_state* s = step_for(r.step_id, r.invocation_id))
              fold_request(*s, r);
            else if (step_state* c = undo_for(r.step_id, r.invocation_id))
              fold_request(c->undo, r);
          },
          [&](const events::tool_invocation_resulted& r) {
            if (step_state* c = undo_for(r.step_id, r.invocation_id)) {
              if (!terminal(c->undo.status))
                fold_result(c->undo, r, e.time_ms, policy_, policy_.max_compensation_attempts);
              return;
            }
            step_state* s = step_for(r.step_id, r.invocation_id);
            if (!s || terminal(s->status))
              return;
            last_progress_ms_ = std::max(last_progress_ms_, e.time_ms);
            fold_result(*s, r, e.time_ms, policy_, policy_.max_attempts);
            if (s->status == step_status::succeeded) {
              s->completed_seq = ++completions_;
              // An LLM tool reports its usage in its result.
              if (auto result = json::parse(r.result_json); result && result->IsObject())
                if (const auto* t = json::find_path(*result, "tokens"); t && t->IsObject())
                  spend(json::get_int(*t, "prompt").value_or(0)
                          + json::get_int(*t, "completion").value_or(0),
                        json::get_string(*result, "model").value_or(""));
            }
          },
          [&](const events::plan_step_completed& c) {
            if (status_ == plan_status::pending)
              return;
            step_state* s = find_step(steps_, c.step_id);
            if (!s)
              return;
            s->completion_recorded = true;
            // A step failed by the orchestrator itself (unresolvable placeholder) has no
            // result event; its completion is the record of that failure.
            if (c.status == "error" && !terminal(s->status))
              s->status = step_status::failed;
          },
          [&](const events::plan_completed& c) {
            if (status_ == plan_status::pending || c.plan_version != plan_version_)
              return;
            status_ = plan_status::completed;
            finish_recorded_ = true;
            unlogged_.clear(); // the plan's end is in the log: nothing else is still wanted
          },
          [&](const events::plan_failed& f) {
            if (status_ == plan_status::pending || f.plan_version != plan_version_)
              return;
            status_ = plan_status::failed;
            finish_recorded_ = true;
            saga_open_ = !f.compensation_done;
            if (!saga_open_)
              unlogged_.clear();
            failure_reason_ = f.reason;
            failed_step_ = f.failed_step;
            step_state* s = find_step(steps_, f.failed_step);
            // An effect step that timed out may have had its effect: the saga asks it again.
            if (s && !(is_effect(*s) && s->status == step_status::requested)) {
              s->status = step_status::failed;
              if (s->error.empty()) {
                // Recover the step's own error from "step <id>: <error>" (see decide()).
                std::string prefix = "step " + s->step.id + ": ";
                s->error = f.reason.compare(0, prefix.size(), prefix) == 0 ? f.reason.substr(prefix.size())
                                                                            : f.reason;
              }
            }
          },
          [&](const events::approval_requested& a) {
            step_state* st = find_step(steps_, a.step_id);
            if (!st || st->approval != approval_status::none)
              return;
            st->approval = approval_status::requested;
            st->approval_expires = a.expires_at;
            st->approval_note = a.reason;
            st->args_json = a.args_json;
            last_progress_ms_ = std::max(last_progress_ms_, e.time_ms);
          },
          [&](const events::approval_submitted& a) {
            step_state* st = find_step(steps_, a.step_id);
            if (st && st->approval == approval_status::requested && !submitted_.count(a.step_id))
              submitted_[a.step_id] = decision{a.approve, a.user_id, a.reason};
          },
          [&](const events::approval_granted& a) {
            step_state* st = find_step(steps_, a.step_id);
            if (!st || st->approval == approval_status::granted
                || st->approval == approval_status::denied)
              return;
            st->approval = approval_status::granted;
            st->approval_note = "approved by " + by_whom(a.user_id, a.reason);
            submitted_.erase(a.step_id);
            last_progress_ms_ = std::max(last_progress_ms_, e.time_ms);
          },
          [&](const events::approval_denied& a) {
            step_state* st = find_step(steps_, a.step_id);
            if (!st || st->approval == approval_status::granted
                || st->approval == approval_status::denied)
              return;
            deny(*st, a.user_id, a.reason);
            submitted_.erase(a.step_id);
          },
          [&](const events::cancel_requested& c) {
            if (!cancel_ && !finish_recorded_)
              cancel_ = decision{false, c.user_id, c.reason};
          },
          [&](const events::turn_cancelled& c) {
            cancel_recorded_ = true;
            if (!cancel_)
              cancel_ = decision{false, c.user_id, c.reason};
            if (!finish_recorded_) {
              status_ = plan_status::failed;
              failure_reason_ = "the turn was cancelled by " + by_whom(c.user_id, c.reason);
              failed_step_.clear();
            }
          },
          [&](const events::plan_compensated& c) {
            if (status_ != plan_status::pending && c.plan_version == plan_version_
                && c.round == saga_round_)
              end_saga(c.compensations_json, false);
          },
          [&](const events::compensation_failed& c) {
            if (status_ != plan_status::pending && c.plan_version == plan_version_
                && c.round == saga_round_)
              end_saga(c.compensations_json, true);
          },
          [&](const events::compensation_retry_requested&) {
            if (!saga_recorded_ || !saga_failed_)
              return;
            // What is left is undone again, under the next round's invocation ids.
            ++saga_round_;
            saga_recorded_ = false;
            saga_failed_ = false;
            for (auto& st : steps_)
              if (st.status == step_status::succeeded && st.undo.status != step_status::succeeded)
                st.undo = compensation_state{};
          },
          [](const auto&) {}, // other types do not affect the plan
      },
      e.data);
  skip_dependents_of_replannable(steps_);
}

namespace {

// Placeholders can make a request bigger or deeper than its readers accept (a large result
// substituted into the next step): such a request would be refused at encode on every
// attempt, so the step fails here with the reason instead.
std::optional<std::string> oversized_args(const std::string& args) {
  constexpr size_t max_args_bytes = 512 * 1024; // half a record: the envelope fits beside it
  if (args.size() > max_args_bytes)
    return "arguments too large after substituting placeholders (" + std::to_string(args.size())
           + " bytes, at most " + std::to_string(max_args_bytes) + ")";
  // The request's record holds args two levels down (the root and "data").
  if (json::too_deep(args, json::max_depth - 2))
    return "arguments nested deeper than " + std::to_string(json::max_depth - 2)
           + " levels after substituting placeholders";
  return std::nullopt;
}

} // namespace

std::optional<std::string> conversation_state::refuses(const events::event& e) const {
  const auto turn = " of turn " + std::to_string(turn_);
  if (auto why = refuses_decision(e))
    return why;
  // A saga's end only as this fold would decide it: a forged one must not stop a saga early.
  const bool compensated = std::holds_alternative<events::plan_compensated>(e.data);
  if (compensated || std::holds_alternative<events::compensation_failed>(e.data)) {
    const std::string type = compensated ? "PlanCompensated" : "CompensationFailed";
    if (status_ == plan_status::pending)
      return type + turn + ", which has no plan";
    const int round = compensated ? std::get<events::plan_compensated>(e.data).round
                                  : std::get<events::compensation_failed>(e.data).round;
    if (saga_recorded_ || round < saga_round_)
      return std::nullopt; // the saga's end again, or an earlier round's: changes nothing
    if (!saga_open_)
      return type + turn + ", which undoes nothing (no PlanFailed asked for compensation)";
    if (compensated)
      for (const step_state* st : saga_order_of(steps_))
        if (st->undo.status != step_status::succeeded)
          return type + turn + " while step " + st->step.id + " is not undone yet";
    if (auto c = std::get_if<events::compensation_failed>(&e.data)) {
      auto named = std::find_if(steps_.begin(), steps_.end(), [&](const step_state& st) {
        return st.step.id == c->failed_step && !st.step.compensation_tool.empty();
      });
      if (named == steps_.end())
        return type + turn + " names step '" + c->failed_step + "', which has nothing to undo";
    }
    return std::nullopt;
  }
  if (std::holds_alternative<events::plan_revision_requested>(e.data)
      && status_ == plan_status::pending)
    return "PlanRevisionRequested" + turn + ", which has no plan";
  auto r = std::get_if<events::plan_revised>(&e.data);
  if (!r)
    return std::nullopt;
  const auto version = " v" + std::to_string(r->plan_version);
  if (status_ == plan_status::pending)
    return "PlanRevised" + version + turn + ", which has no plan";
  if (r->plan_version > plan_version_ + 1)
    return "PlanRevised" + version + turn + " skips v" + std::to_string(plan_version_ + 1);
  if (r->plan_version > plan_version_ && finish_recorded_)
    return "PlanRevised" + version + turn + " after the turn ended at v"
           + std::to_string(plan_version_);
  return std::nullopt;
}

outcome<void> conversation_state::add_revision(const std::string& plan_json, int version) {
  plan_version_ = version;
  revisions_.push_back(plan_json);
  replan_ = false;
  if (plan_json == "null")
    return {}; // finish with what was observed
  std::vector<std::string> earlier;
  for (const auto& st : steps_)
    earlier.push_back(st.step.id);
  auto parsed = parse_plan(plan_json, earlier);
  if (!parsed)
    return fail(parsed.error());
  replan_ = parsed->replan;
  for (auto& step : parsed->steps) {
    step_state st;
    st.step = std::move(step);
    st.version = version;
    steps_.push_back(std::move(st));
  }
  return {};
}

namespace {

std::string step_failure(const step_state& s) {
  if (s.attempt == 0 && s.approval == approval_status::denied)
    return "step " + s.step.id + " (" + s.step.tool + ") was not run: " + s.error;
  return "step " + s.step.id + " (" + s.step.tool + ") failed after " + std::to_string(s.attempt)
         + " attempt" + (s.attempt == 1 ? "" : "s") + ": " + s.error;
}

} // namespace

void conversation_state::decide_end(std::vector<events::payload>& out) {
  if (awaiting_revision())
    return; // the router's PlanRevised is not back yet
  const bool finish = !revisions_.empty() && revisions_.back() == "null";
  if (finish && !revision_failure_.empty()) {
    // The router ended the turn after a failure: the failure stands.
    status_ = plan_status::failed;
    failure_reason_ = revision_failure_;
    for (const auto& st : steps_)
      if (st.replanned && st.attempt > 0)
        failed_step_ = st.step.id;
    return;
  }
  auto failed = std::find_if(steps_.begin(), steps_.end(), [](const step_state& st) {
    return st.status == step_status::failed && !st.replanned;
  });
  const bool after_failure = failed != steps_.end();
  if (after_failure || (replan_ && !finish)) {
    const std::string why = after_failure ? step_failure(*failed)
                                          : "the plan asks what comes next after its last step";
    const int done = plan_version_ - base_version_;
    if (done >= policy_.max_plan_revisions) {
      status_ = plan_status::failed;
      failure_reason_ = "the plan needs revision " + std::to_string(done + 1)
                        + ", past max-plan-revisions (" + std::to_string(policy_.max_plan_revisions)
                        + ")" + (after_failure ? ": " + why : "");
      failed_step_ = after_failure ? failed->step.id : "";
      return;
    }
    events::plan_revision_requested r;
    r.plan_version = plan_version_;
    r.reason = why;
    r.failed_step = after_failure ? failed->step.id : "";
    r.observations_json = results_object(steps_);
    revision_requested_ = plan_version_;
    revision_failure_ = after_failure ? why : "";
    for (auto& st : steps_)
      if (st.status == step_status::failed)
        st.replanned = true;
    out.emplace_back(std::move(r));
    return;
  }
  status_ = plan_status::completed;
  finish_recorded_ = true;
  out.emplace_back(events::plan_completed{plan_version_, results_object(steps_)});
}

std::vector<events::payload> conversation_state::decide(int64_t now_ms) {
  std::vector<events::payload> out;
  if (orphans_) {
    orphans_ = false;
    for (const auto& u : unlogged_)
      out.push_back(u.decision);
  }
  const size_t repeated = out.size();
  decide_new(now_ms, out);
  for (size_t i = repeated; i < out.size(); ++i) {
    std::visit([&](auto& p) { p.turn = turn_; }, out[i]);
    unlogged_.emplace_back(deterministic_id(conversation_id_, out[i]), out[i]);
  }
  return out;
}

void conversation_state::decide_new(int64_t now_ms, std::vector<events::payload>& out) {
  if (status_ == plan_status::pending)
    return;
  if (finish_recorded_) {
    if (saga_pending())
      decide_saga(now_ms, out);
    return;
  }

  if (status_ == plan_status::running && cancel_ && !cancel_recorded_) {
    // No new step starts; the failure path below ends the turn and undoes what was done.
    cancel_recorded_ = true;
    out.emplace_back(events::turn_cancelled{cancel_->user, cancel_->reason});
    status_ = plan_status::failed;
    failure_reason_ = "the turn was cancelled by " + by_whom(cancel_->user, cancel_->reason);
    failed_step_.clear();
  }
  if (status_ == plan_status::running)
    fail_if_stalled(now_ms);
  if (status_ == plan_status::running)
    if (auto over = over_budget(now_ms, false)) {
      status_ = plan_status::failed;
      failure_reason_ = *over;
    }
  if (status_ == plan_status::running) {
    auto replannable = [](const step_state& s) { return replannable_failure(s); };
    std::vector<std::string> ids;
    std::map<std::string, std::string> results;
    bool blocked = false; // once a step failed for good, nothing new goes out
    for (const auto& s : steps_) {
      ids.push_back(s.step.id);
      if (s.status == step_status::succeeded)
        results[s.step.id] = s.result_json;
      blocked = blocked || (s.status == step_status::failed && !replannable(s));
    }
    auto succeeded = [&](const std::string& id) { return results.count(id) > 0; };

    for (auto& s : steps_) {
      if (blocked)
        break;
      const auto invocation = make_invocation_id(scope_, s.version, s.step.id).get();
      if (s.status == step_status::pending && now_ms >= s.not_before
          && std::all_of(s.step.depends_on.begin(), s.step.depends_on.end(), succeeded)) {
        if (s.attempt == 0 && s.approval == approval_status::none)
          if (auto over = over_budget(now_ms, true)) {
            failure_reason_ = *over;
            status_ = plan_status::failed;
            blocked = true;
            continue;
          }
        auto args = resolve_placeholders(s.step.args_json, results, ids);
        if (args)
          if (auto why = oversized_args(*args))
            args = fail(std::move(*why));
        if (!args) {
          s.status = step_status::failed;
          s.error = args.error();
          failure_reason_ = "step " + s.step.id + ": " + args.error();
          blocked = true;
          continue;
        }
        s.args_json = std::move(args).value();
        if (!approved_to_run(s, now_ms, out)) {
          blocked = blocked || s.status == step_status::failed; // denied: nothing new goes out
          continue;
        }

      } else if (!(s.status == step_status::requested && now_ms >= s.deadline)) {
        continue;
      }
      // A first request, a retry after backoff, or a re-request of an overdue one: same
      // invocation id, next attempt, fresh deadline.
      s.status = step_status::requested;
      s.attempt += 1;
      s.deadline = now_ms + policy_.step_timeout_ms;
      out.emplace_back(request_of(invocation, s.step.id, s.step.tool, s));
    }

    // A step that never ran (its placeholder could not be resolved) has no attempts to
    // report; PlanFailed names it instead.
    for (auto& s : steps_) {
      if (!terminal(s.status) || s.completion_recorded || s.attempt == 0)
        continue;
      s.completion_recorded = true;
      out.emplace_back(events::plan_step_completed{
          s.step.id, s.status == step_status::succeeded ? "ok" : "error", s.attempt});
    }

    auto failed = std::find_if(steps_.begin(), steps_.end(), [&](const step_state& s) {
      return s.status == step_status::failed && !replannable(s);
    });
    if (status_ != plan_status::running) {
      // failed above (a budget): PlanFailed below
    } else if (failed != steps_.end()) {
      status_ = plan_status::failed;
      failed_step_ = failed->step.id;
      if (failure_reason_.empty())
        failure_reason_ = step_failure(*failed);
    } else if (std::all_of(steps_.begin(), steps_.end(),
                           [](const step_state& s) { return terminal(s.status); })) {
      decide_end(out);
      if (finish_recorded_)
        return;
    }
  }

  if (status_ == plan_status::failed) {
    finish_recorded_ = true;
    events::plan_failed f;
    f.plan_version = plan_version_;
    f.failed_step = failed_step_;
    f.reason = failure_reason_;
    f.partial_results_json = results_object(steps_);
    f.compensation_done = saga_order().empty() && !effects_in_flight();
    saga_open_ = !f.compensation_done;
    out.emplace_back(std::move(f));
    if (saga_open_)
      decide_saga(now_ms, out);
  }
}


void conversation_state::fail_if_stalled(int64_t now_ms) {
  if (policy_.turn_timeout_ms <= 0)
    return;
  if (last_progress_ms_ < 0)
    last_progress_ms_ = now_ms; // restored from a snapshot written before this field existed
  // Waiting for a person is not a stall: the approval timeout bounds it.
  if (std::any_of(steps_.begin(), steps_.end(), [](const step_state& s) {
        return s.approval == approval_status::requested;
      }))
    return;
  if (now_ms < last_progress_ms_ + policy_.turn_timeout_ms)
    return;
  // The step the turn waits on: the first one not decided yet (a request nobody answers, or
  // a retry that never comes).
  auto seconds = std::to_string(policy_.turn_timeout_ms / 1000);
  if (awaiting_revision()) {
    status_ = plan_status::failed;
    failure_reason_ = "turn timed out: no plan revision for " + seconds
                      + " s (turn-timeout-ms) after plan version " + std::to_string(plan_version_);
    return;
  }
  auto waiting = std::find_if(steps_.begin(), steps_.end(),
                              [](const step_state& s) { return !terminal(s.status); });
  if (waiting == steps_.end())
    return;
  failure_reason_ = "turn timed out: no progress for " + seconds + " s (turn-timeout-ms); step "
                    + waiting->step.id + " (" + waiting->step.tool + ") still waiting after "
                    + std::to_string(waiting->attempt) + " attempt"
                    + (waiting->attempt == 1 ? "" : "s");
  if (is_effect(*waiting) && waiting->status == step_status::requested) {
    // Its effect may have happened: it stays in flight for the saga to ask again.
    status_ = plan_status::failed;
    failed_step_ = waiting->step.id;
    return;
  }
  waiting->status = step_status::failed;
  waiting->error = failure_reason_; // what a replay of PlanFailed recovers, too
}

std::optional<int64_t> conversation_state::next_wakeup() const {
  std::optional<int64_t> earliest;
  auto consider = [&](int64_t t) {
    if (!earliest || t < *earliest)
      earliest = t;
  };
  if (saga_pending() && finish_recorded_) {
    for (const auto& s : steps_) {
      if (s.status == step_status::requested && is_effect(s))
        consider(s.deadline);
      if (s.undo.status == step_status::pending && s.undo.not_before > 0)
        consider(s.undo.not_before);
      else if (s.undo.status == step_status::requested)
        consider(s.undo.deadline);
    }
    return earliest;
  }
  if (status_ != plan_status::running || finish_recorded_)
    return std::nullopt;
  // A step failed for good ends the plan anyway; one handed to a revision waits for it.
  bool step_failed = std::any_of(steps_.begin(), steps_.end(), [](const step_state& s) {
    return s.status == step_status::failed && !s.step.replan_on_error && !s.replanned;
  });
  bool waits_for_person = std::any_of(steps_.begin(), steps_.end(), [](const step_state& s) {
    return s.approval == approval_status::requested;
  });
  if (policy_.turn_timeout_ms > 0 && last_progress_ms_ >= 0 && !step_failed && !waits_for_person)
    consider(last_progress_ms_ + policy_.turn_timeout_ms);
  for (const auto& s : steps_) {
    if (s.approval == approval_status::requested)
      consider(submitted_.count(s.step.id) ? 0 : s.approval_expires);
    else if (s.status == step_status::pending && s.not_before > 0)
      consider(s.not_before);
    else if (s.status == step_status::requested)
      consider(s.deadline);
  }
  if (cancel_ && !cancel_recorded_)
    consider(0); // now
  if (policy_.max_wall_ms > 0 && started_ms_ >= 0)
    consider(started_ms_ + policy_.max_wall_ms + 1);
  return earliest;
}

} // namespace eventide::core
