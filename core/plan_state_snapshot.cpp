// The orchestrator fold's digest (the replay tests compare it), its snapshot for the store and
// the restore from one (core/plan_state.hpp). Apart from the fold and decisions
// (plan_state.cpp) because the two change for different reasons.
#include "core/plan_state.hpp"

#include <sstream>

#include "core/json.hpp"
#include "core/text.hpp"

namespace eventide::core {
namespace {

// JSON-style quoting keeps the digest unambiguous whatever the field contents are.
std::string digest_quote(const std::string& s) { return "\"" + escape(s, "\"") + "\""; }

} // namespace

std::string conversation_state::digest() const {
  std::ostringstream d;
  d << "conversation " << digest_quote(conversation_id_) << "\n";
  if (turn_ != 1)
    d << "turn " << turn_ << "\n";
  d << "status " << to_string(status_) << "\n"
    << "plan_version " << plan_version_ << "\n"
    << "plan " << digest_quote(plan_json_) << "\n"
    << "failure_reason " << digest_quote(failure_reason_) << "\n"
    << "failed_step " << digest_quote(failed_step_) << "\n"
    << "finish_recorded " << finish_recorded_ << "\n"
    << "last_progress_ms " << last_progress_ms_ << "\n";
  if (!revisions_.empty() || replan_ || revision_requested_ > 0) { // the agent loop (DESIGN §14)
    d << "base_version " << base_version_ << " replan " << replan_ << " revision_requested "
      << revision_requested_ << " revision_failure " << digest_quote(revision_failure_) << "\n";
    for (const auto& r : revisions_)
      d << "revision " << digest_quote(r) << "\n";
  }
  for (const auto& s : steps_) {
    d << "step " << digest_quote(s.step.id) << " tool " << s.step.tool << " depends_on";
    for (const auto& dep : s.step.depends_on)
      d << " " << digest_quote(dep);
    d << "\n  status " << to_string(s.status) << " attempt " << s.attempt << " errors " << s.errors
      << " deadline " << s.deadline << " not_before " << s.not_before << " completion_recorded "
      << s.completion_recorded << "\n  plan_args " << digest_quote(s.step.args_json) << "\n  args "
      << digest_quote(s.args_json) << "\n  result " << digest_quote(s.result_json) << "\n  error "
      << digest_quote(s.error) << "\n";
    if (s.version != base_version_ || s.replanned || s.step.replan_on_error)
      d << "  version " << s.version << " replanned " << s.replanned << " on_error_replan "
        << s.step.replan_on_error << "\n";
    if (s.approval != approval_status::none)
      d << "  approval " << to_string(s.approval) << " expires " << s.approval_expires << " note "
        << digest_quote(s.approval_note) << "\n";
    if (s.completed_seq > 0 || s.outcome_unknown || !s.step.compensation_tool.empty()) {
      const auto& u = s.undo;
      d << "  completed_seq " << s.completed_seq << " outcome_unknown " << s.outcome_unknown
        << " compensation " << digest_quote(s.step.compensation_tool) << " "
        << digest_quote(s.step.compensation_args_json) << "\n  undo " << to_string(u.status)
        << " attempt " << u.attempt << " errors " << u.errors << " deadline " << u.deadline
        << " not_before " << u.not_before << " args " << digest_quote(u.args_json) << " result "
        << digest_quote(u.result_json) << " error " << digest_quote(u.error) << "\n";
    }
  }
  if (completions_ > 0 || saga_open_ || saga_recorded_)
    d << "completions " << completions_ << " saga_open " << saga_open_ << " saga_recorded "
      << saga_recorded_ << " saga_failed " << saga_failed_ << " saga_round " << saga_round_ << "\n";
  if (!asked_by_.empty())
    d << "asked_by " << digest_quote(asked_by_) << "\n";
  if (started_ms_ >= 0 || tokens_used_ > 0)
    d << "started_ms " << started_ms_ << " tokens " << tokens_used_ << " cost " << cost_usd_ << "\n";
  for (const auto& [step, dec] : submitted_)
    d << "submitted " << digest_quote(step) << " " << dec.approve << " " << digest_quote(dec.user)
      << " " << digest_quote(dec.reason) << "\n";
  if (cancel_ || cancel_recorded_)
    d << "cancel " << digest_quote(cancel_ ? cancel_->user : "") << " "
      << digest_quote(cancel_ ? cancel_->reason : "") << " recorded " << cancel_recorded_ << "\n";
  return d.str();
}

std::string conversation_state::snapshot(
  const std::function<std::string(const events::event&)>& encode) const {
  json::document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("v", 1, a);
  d.AddMember("turn", turn_, a);
  d.AddMember("status", json::str(to_string(status_), a), a);
  d.AddMember("planVersion", plan_version_, a);
  d.AddMember("plan", json::str(plan_json_, a), a);
  d.AddMember("failureReason", json::str(failure_reason_, a), a);
  d.AddMember("failedStep", json::str(failed_step_, a), a);
  d.AddMember("finishRecorded", finish_recorded_, a);
  d.AddMember("lastProgressMs", last_progress_ms_, a);
  if (!revisions_.empty() || replan_ || revision_requested_ > 0) {
    json::value revisions(rapidjson::kArrayType);
    for (const auto& r : revisions_)
      revisions.PushBack(json::str(r, a), a);
    d.AddMember("revisions", revisions, a);
    d.AddMember("replan", replan_, a);
    d.AddMember("revisionRequested", revision_requested_, a);
    d.AddMember("revisionFailure", json::str(revision_failure_, a), a);
  }
  json::value steps(rapidjson::kArrayType);
  for (const auto& st : steps_) {
    json::value o(rapidjson::kObjectType);
    o.AddMember("status", json::str(to_string(st.status), a), a);
    o.AddMember("attempt", st.attempt, a);
    o.AddMember("errors", st.errors, a);
    o.AddMember("deadline", st.deadline, a);
    o.AddMember("notBefore", st.not_before, a);
    o.AddMember("args", json::str(st.args_json, a), a);
    o.AddMember("result", json::str(st.result_json, a), a);
    o.AddMember("error", json::str(st.error, a), a);
    o.AddMember("completionRecorded", st.completion_recorded, a);
    if (st.replanned)
      o.AddMember("replanned", true, a);
    if (st.approval != approval_status::none) {
      o.AddMember("approval", json::str(to_string(st.approval), a), a);
      o.AddMember("approvalExpires", st.approval_expires, a);
      o.AddMember("approvalNote", json::str(st.approval_note, a), a);
    }
    if (st.completed_seq > 0)
      o.AddMember("completedSeq", st.completed_seq, a);
    if (st.outcome_unknown)
      o.AddMember("outcomeUnknown", true, a);
    if (st.undo.attempt > 0 || st.undo.status != step_status::pending) {
      const auto& u = st.undo;
      json::value undo(rapidjson::kObjectType);
      undo.AddMember("status", json::str(to_string(u.status), a), a);
      undo.AddMember("attempt", u.attempt, a);
      undo.AddMember("errors", u.errors, a);
      undo.AddMember("deadline", u.deadline, a);
      undo.AddMember("notBefore", u.not_before, a);
      undo.AddMember("args", json::str(u.args_json, a), a);
      undo.AddMember("result", json::str(u.result_json, a), a);
      undo.AddMember("error", json::str(u.error, a), a);
      o.AddMember("undo", undo, a);
    }
    steps.PushBack(o, a);
  }
  d.AddMember("steps", steps, a);
  if (completions_ > 0 || saga_open_ || saga_recorded_) { // the saga (DESIGN §15)
    d.AddMember("completions", completions_, a);
    d.AddMember("sagaOpen", saga_open_, a);
    d.AddMember("sagaRecorded", saga_recorded_, a);
    d.AddMember("sagaFailed", saga_failed_, a);
    d.AddMember("sagaRound", saga_round_, a);
  }
  if (!asked_by_.empty())
    d.AddMember("askedBy", json::str(asked_by_, a), a);
  d.AddMember("startedMs", started_ms_, a); // the budgets (DESIGN §15)
  d.AddMember("tokensUsed", tokens_used_, a);
  d.AddMember("costUsd", cost_usd_, a);
  if (!submitted_.empty()) { // approvals and cancellation (DESIGN §15)
    json::value submitted(rapidjson::kArrayType);
    for (const auto& [step, dec] : submitted_) {
      json::value o(rapidjson::kObjectType);
      o.AddMember("stepId", json::str(step, a), a);
      o.AddMember("approve", dec.approve, a);
      o.AddMember("user", json::str(dec.user, a), a);
      o.AddMember("reason", json::str(dec.reason, a), a);
      submitted.PushBack(o, a);
    }
    d.AddMember("submitted", submitted, a);
  }
  if (cancel_) {
    json::value c(rapidjson::kObjectType);
    c.AddMember("user", json::str(cancel_->user, a), a);
    c.AddMember("reason", json::str(cancel_->reason, a), a);
    c.AddMember("recorded", cancel_recorded_, a);
    d.AddMember("cancel", c, a);
  }
  json::value early(rapidjson::kArrayType);
  for (const auto& e : early_)
    early.PushBack(json::str(encode(e), a), a);
  d.AddMember("early", early, a);
  d.AddMember("session", json::str(session_, a), a);
  json::value unlogged(rapidjson::kArrayType);
  for (const auto& u : unlogged_) {
    // Kept as an event's text (the codec lives above core/); only its data is read back.
    if (u.snapshot_text.empty()) {
      events::event e;
      e.id = u.id;
      e.source = "eventide/orchestrator/snapshot";
      e.subject = conversation_id_;
      e.data = u.decision;
      u.snapshot_text = encode(e);
    }
    unlogged.PushBack(json::str(u.snapshot_text, a), a);
  }
  d.AddMember("unlogged", unlogged, a);
  return json::dump(d);
}

outcome<conversation_state>
conversation_state::restore(std::string conversation_id, orchestration_policy policy,
                            std::string_view text,
                            const std::function<outcome<events::event>(std::string_view)>& decode,
                            std::string session, int turn) {
  auto doc = json::parse(text);
  if (!doc)
    return fail("snapshot of " + conversation_id + ": " + doc.error());
  auto& d = *doc;
  auto bad = [&](const char* what) {
    return fail("snapshot of " + conversation_id + ": bad or missing " + what);
  };
  if (!d.IsObject() || json::get_int(d, "v").value_or(0) != 1)
    return bad("version");
  // Absent in snapshots written before turns: turn 1.
  if (json::get_int(d, "turn").value_or(1) != turn)
    return bad("turn");
  conversation_state s(conversation_id, policy, std::move(session), turn);
  auto status = parse_enum(json::get_string(d, "status").value_or(""),
                           {plan_status::pending, plan_status::running, plan_status::completed,
                            plan_status::failed});
  auto version = json::get_int(d, "planVersion");
  auto plan = json::get_string(d, "plan");
  auto reason = json::get_string(d, "failureReason");
  auto failed_step = json::get_string(d, "failedStep");
  auto finish = json::get_bool(d, "finishRecorded");
  if (!status || !version || !plan || !reason || !failed_step || !finish)
    return bad("plan fields");
  s.status_ = *status;
  s.plan_version_ = static_cast<int>(*version);
  s.plan_json_ = *plan;
  s.failure_reason_ = *reason;
  s.failed_step_ = *failed_step;
  s.finish_recorded_ = *finish;
  s.last_progress_ms_ = json::get_int(d, "lastProgressMs").value_or(-1); // -1: written before turn-timeout
  const auto* steps = json::find_path(d, "steps");
  if (!steps || !steps->IsArray())
    return bad("steps");
  // The agent loop's fields; absent in snapshots of plans that never asked for a revision.
  std::vector<std::string> revisions;
  if (const auto* revs = json::find_path(d, "revisions")) {
    if (!revs->IsArray())
      return bad("revisions");
    for (const auto& r : revs->GetArray()) {
      if (!r.IsString())
        return bad("revisions");
      revisions.emplace_back(r.GetString(), r.GetStringLength());
    }
    auto replan = json::get_bool(d, "replan");
    auto requested = json::get_int(d, "revisionRequested");
    auto failure = json::get_string(d, "revisionFailure");
    if (!replan || !requested || !failure)
      return bad("revision fields");
    s.revision_requested_ = static_cast<int>(*requested);
    s.revision_failure_ = *failure;
  }
  s.base_version_ = s.plan_version_ - static_cast<int>(revisions.size());
  if (steps->Size() > 0) {
    // The steps' static part comes from the plan and its revisions, as when PlanGenerated and
    // each PlanRevised were applied.
    auto parsed = parse_plan(s.plan_json_);
    if (!parsed)
      return bad("plan (does not match its steps)");
    for (auto& step : parsed->steps) {
      step_state st;
      st.step = std::move(step);
      st.version = s.base_version_;
      s.steps_.push_back(std::move(st));
    }
    s.replan_ = parsed->replan;
    for (size_t i = 0; i < revisions.size(); ++i)
      if (!s.add_revision(revisions[i], s.base_version_ + 1 + static_cast<int>(i)))
        return bad("revision (does not parse)");
    if (s.steps_.size() != steps->Size())
      return bad("plan (does not match its steps)");
    for (rapidjson::SizeType i = 0; i < steps->Size(); ++i) {
      const auto& o = (*steps)[i];
      step_state& st = s.steps_[i];
      auto stat = parse_enum(json::get_string(o, "status").value_or(""),
                             {step_status::pending, step_status::requested,
                              step_status::succeeded, step_status::failed});
      auto attempt = json::get_int(o, "attempt");
      auto errors = json::get_int(o, "errors");
      auto deadline = json::get_int(o, "deadline");
      auto not_before = json::get_int(o, "notBefore");
      auto args = json::get_string(o, "args");
      auto result = json::get_string(o, "result");
      auto error = json::get_string(o, "error");
      auto recorded = json::get_bool(o, "completionRecorded");
      if (!stat || !attempt || !errors || !deadline || !not_before || !args || !result || !error
          || !recorded)
        return bad("step fields");
      st.status = *stat;
      st.attempt = static_cast<int>(*attempt);
      st.errors = static_cast<int>(*errors);
      st.deadline = *deadline;
      st.not_before = *not_before;
      st.args_json = *args;
      st.result_json = *result;
      st.error = *error;
      st.completion_recorded = *recorded;
      st.replanned = json::get_bool(o, "replanned").value_or(false);
      if (auto approval = json::get_string(o, "approval")) {
        auto status = parse_enum(*approval, {approval_status::none, approval_status::requested,
                                             approval_status::granted, approval_status::denied});
        auto expires = json::get_int(o, "approvalExpires");
        auto note = json::get_string(o, "approvalNote");
        if (!status || !expires || !note)
          return bad("approval fields");
        st.approval = *status;
        st.approval_expires = *expires;
        st.approval_note = *note;
      }
      st.completed_seq = static_cast<int>(json::get_int(o, "completedSeq").value_or(0));
      st.outcome_unknown = json::get_bool(o, "outcomeUnknown").value_or(false);
      if (const auto* undo = json::find_path(o, "undo")) {
        auto& u = st.undo;
        auto ustat = parse_enum(json::get_string(*undo, "status").value_or(""),
                                {step_status::pending, step_status::requested,
                                 step_status::succeeded, step_status::failed});
        auto uattempt = json::get_int(*undo, "attempt");
        auto uerrors = json::get_int(*undo, "errors");
        auto udeadline = json::get_int(*undo, "deadline");
        auto unot_before = json::get_int(*undo, "notBefore");
        auto uargs = json::get_string(*undo, "args");
        auto uresult = json::get_string(*undo, "result");
        auto uerror = json::get_string(*undo, "error");
        if (!ustat || !uattempt || !uerrors || !udeadline || !unot_before || !uargs || !uresult
            || !uerror)
          return bad("compensation fields");
        u.status = *ustat;
        u.attempt = static_cast<int>(*uattempt);
        u.errors = static_cast<int>(*uerrors);
        u.deadline = *udeadline;
        u.not_before = *unot_before;
        u.args_json = *uargs;
        u.result_json = *uresult;
        u.error = *uerror;
      }
    }
  }
  s.plan_version_ = static_cast<int>(*version); // add_revision moved it along
  if (const auto* revs = json::find_path(d, "revisions"); revs && steps->Size() == 0)
    s.revisions_ = revisions; // an invalid plan has no steps to rebuild; keep what it had
  if (auto replan = json::get_bool(d, "replan"))
    s.replan_ = *replan;
  s.completions_ = static_cast<int>(json::get_int(d, "completions").value_or(0));
  s.saga_open_ = json::get_bool(d, "sagaOpen").value_or(false);
  s.saga_recorded_ = json::get_bool(d, "sagaRecorded").value_or(false);
  s.saga_failed_ = json::get_bool(d, "sagaFailed").value_or(false);
  s.saga_round_ = static_cast<int>(json::get_int(d, "sagaRound").value_or(0));
  s.asked_by_ = json::get_string(d, "askedBy").value_or("");
  s.started_ms_ = json::get_int(d, "startedMs").value_or(-1); // absent in older snapshots
  s.tokens_used_ = json::get_int(d, "tokensUsed").value_or(0);
  if (const auto* cost = json::find_path(d, "costUsd"); cost && cost->IsNumber())
    s.cost_usd_ = cost->GetDouble();
  if (const auto* submitted = json::find_path(d, "submitted")) {
    if (!submitted->IsArray())
      return bad("submitted decisions");
    for (const auto& o : submitted->GetArray()) {
      auto step = json::get_string(o, "stepId");
      auto approve = json::get_bool(o, "approve");
      auto user = json::get_string(o, "user");
      auto reason = json::get_string(o, "reason");
      if (!step || !approve || !user || !reason)
        return bad("submitted decisions");
      s.submitted_[*step] = decision{*approve, *user, *reason};
    }
  }
  if (const auto* c = json::find_path(d, "cancel")) {
    auto user = json::get_string(*c, "user");
    auto reason = json::get_string(*c, "reason");
    auto recorded = json::get_bool(*c, "recorded");
    if (!user || !reason || !recorded)
      return bad("cancellation");
    s.cancel_ = decision{false, *user, *reason};
    s.cancel_recorded_ = *recorded;
  }
  const auto* early = json::find_path(d, "early");
  if (!early || !early->IsArray())
    return bad("early events");
  for (const auto& e : early->GetArray()) {
    if (!e.IsString())
      return bad("early events");
    auto ev = decode(std::string_view(e.GetString(), e.GetStringLength()));
    if (!ev)
      return fail("snapshot of " + conversation_id + ": early event: " + ev.error());
    s.early_.push_back(std::move(*ev));
  }
  // Absent in snapshots written before exactly-once: nothing unlogged.
  if (const auto* unlogged = json::find_path(d, "unlogged")) {
    if (!unlogged->IsArray())
      return bad("unlogged decisions");
    for (const auto& e : unlogged->GetArray()) {
      if (!e.IsString())
        return bad("unlogged decisions");
      std::string text(e.GetString(), e.GetStringLength());
      auto ev = decode(text);
      if (!ev)
        return fail("snapshot of " + conversation_id + ": unlogged decision: " + ev.error());
      s.unlogged_.emplace_back(ev->id, std::move(ev->data), std::move(text));
    }
  }
  s.orphans_ = !s.unlogged_.empty() && json::get_string(d, "session").value_or("") != s.session_;
  return s;
}

} // namespace eventide::core
