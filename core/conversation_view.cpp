// The console's folds and their JSON (conversation_view.hpp).
#include "core/conversation_view.hpp"

#include <algorithm>
#include <tuple>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/critical_path.hpp"
#include "core/json.hpp"
#include "core/plan.hpp"

namespace eventide::core {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void put_opt(writer& w, const std::optional<int64_t>& v) {
  if (v)
    w.Int64(*v);
  else
    w.Null();
}

// A JSON text written as a value (an event's record, a step's args); null when it does not parse.
void put_raw(writer& w, std::string_view json_text) {
  if (json::parse(json_text))
    w.RawValue(json_text.data(), json_text.size(), rapidjson::kObjectType);
  else
    w.Null();
}

size_t steps_in(std::string_view plan_json) {
  auto doc = json::parse(plan_json);
  if (!doc || !doc->IsObject())
    return 0;
  auto steps = json::find_path(*doc, "steps");
  return steps && steps->IsArray() ? steps->Size() : 0;
}

} // namespace

std::string_view to_string(conversation_status s) {
  switch (s) {
    case conversation_status::running: return "running";
    case conversation_status::waiting: return "waiting";
    case conversation_status::answered: return "answered";
    case conversation_status::failed: return "failed";
    case conversation_status::cancelled: return "cancelled";
  }
  return "running";
}

std::optional<conversation_status> parse_conversation_status(std::string_view text) {
  for (auto s : {conversation_status::running, conversation_status::waiting,
                 conversation_status::answered, conversation_status::failed,
                 conversation_status::cancelled})
    if (to_string(s) == text)
      return s;
  return std::nullopt;
}

// -- summaries ---------------------------------------------------------------------------

const conversation_summary::turn* conversation_summary::latest() const {
  return turns.empty() ? nullptr : &turns.rbegin()->second;
}

conversation_status conversation_summary::state() const {
  auto t = latest();
  if (!t)
    return conversation_status::running;
  if (t->cancelled)
    return conversation_status::cancelled;
  if (t->answered_at)
    return t->failed ? conversation_status::failed : conversation_status::answered;
  if (!t->approvals.empty())
    return conversation_status::waiting;
  return conversation_status::running;
}

void conversation_summary::apply(const events::event& ev) {
  ++events;
  if (events == 1 || ev.time_ms < started_at)
    started_at = ev.time_ms;
  updated_at = std::max(updated_at, ev.time_ms);
  auto& t = turns[events::turn_of(ev.data)];
  std::visit(
    [&](const auto& d) {
      using T = std::decay_t<decltype(d)>;
      if constexpr (std::is_same_v<T, events::user_query_received>) {
        if (t.question.empty()) {
          t.question = d.query;
          t.asked_at = ev.time_ms;
        }
      } else if constexpr (std::is_same_v<T, events::plan_generated>) {
        if (t.versions.insert(d.plan_version).second && d.plan_version >= t.plan_version) {
          // A new first version replaces what an older one counted.
          t.plan_steps = steps_in(d.plan_json);
          t.versions = {d.plan_version};
          t.plan_version = d.plan_version;
        }
      } else if constexpr (std::is_same_v<T, events::plan_revised>) {
        if (t.versions.insert(d.plan_version).second) {
          t.plan_steps += steps_in(d.plan_json);
          t.plan_version = std::max(t.plan_version, d.plan_version);
        }
      } else if constexpr (std::is_same_v<T, events::final_answer_synthesized>) {
        if (!t.answered_at) {
          t.answered_at = ev.time_ms;
          t.failed = d.failed;
          t.approvals.clear();
        }
      } else if constexpr (std::is_same_v<T, events::planning_failed>) {
        t.planning_failed = true;
      } else if constexpr (std::is_same_v<T, events::turn_cancelled>) {
        t.cancelled = true;
        t.approvals.clear();
      } else if constexpr (std::is_same_v<T, events::approval_requested>) {
        if (!t.answered_at && !t.cancelled && !t.decided.count(d.step_id))
          t.approvals[d.step_id] = {ev.subject, d.turn,       d.step_id,  d.tool,
                                    d.args_json, d.reason,    d.expires_at, ev.time_ms};
      } else if constexpr (std::is_same_v<T, events::approval_granted>
                           || std::is_same_v<T, events::approval_denied>) {
        t.decided.insert(d.step_id);
        t.approvals.erase(d.step_id);
      }
    },
    ev.data);
}

const conversation_summary& conversation_index::apply(const events::event& ev) {
  auto [it, fresh] = by_id_.try_emplace(ev.subject);
  auto& s = it->second;
  if (fresh)
    s.id = ev.subject;
  auto before = s.started_at;
  s.apply(ev);
  if (fresh || s.started_at != before) {
    if (!fresh)
      by_start_.erase({before, s.id});
    by_start_.emplace(s.started_at, s.id);
  }
  return s;
}

const conversation_summary* conversation_index::find(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

outcome<conversation_index::page> conversation_index::list(std::optional<conversation_status> state,
                                                           size_t limit,
                                                           const std::string& cursor) const {
  // The cursor is "STARTED.ID" of the last conversation of the previous page.
  auto it = by_start_.end();
  if (!cursor.empty()) {
    auto dot = cursor.find('.');
    int64_t started = 0;
    bool ok = dot != std::string::npos && dot > 0 && dot + 1 < cursor.size()
              && cursor.find_first_not_of("0123456789-") >= dot;
    if (ok) {
      try {
        size_t used = 0;
        started = std::stoll(cursor.substr(0, dot), &used);
        ok = used == dot;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok)
      return fail("bad cursor '" + cursor + "'");
    it = by_start_.lower_bound({started, cursor.substr(dot + 1)});
  }
  page p;
  if (!state)
    p.total = by_id_.size();
  else
    for (auto& [id, s] : by_id_)
      p.total += s.state() == *state;
  while (it != by_start_.begin()) {
    --it;
    auto& s = by_id_.at(it->second);
    if (state && s.state() != *state)
      continue;
    if (p.items.size() == limit) {
      auto& last = *p.items.back();
      p.next = std::to_string(last.started_at) + "." + last.id;
      break;
    }
    p.items.push_back(&s);
  }
  return p;
}

std::vector<pending_step_approval> conversation_index::pending_approvals() const {
  std::vector<pending_step_approval> out;
  for (auto& [id, s] : by_id_)
    for (auto& [n, t] : s.turns)
      for (auto& [step, a] : t.approvals)
        out.push_back(a);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.requested_at, a.conversation, a.step)
           < std::tie(b.requested_at, b.conversation, b.step);
  });
  return out;
}

// -- one conversation --------------------------------------------------------------------

conversation_view build_conversation_view(const std::string& id, std::vector<located_event> events) {
  conversation_view v;
  v.summary.id = id;
  for (auto& e : events)
    v.summary.apply(e.ev);
  // Trace order: by time; within a millisecond a cause before its effects (its depth in the
  // chain of causation ids).
  std::map<std::string, std::string> cause_of;
  for (auto& e : events)
    cause_of.emplace(e.ev.id, e.ev.causation_id);
  std::vector<std::pair<int, size_t>> depth_at;
  for (size_t i = 0; i < events.size(); ++i) {
    int d = 0;
    for (auto c = events[i].ev.causation_id; !c.empty() && d < 1000; ++d) {
      auto it = cause_of.find(c);
      c = it == cause_of.end() ? std::string() : it->second;
    }
    depth_at.emplace_back(d, i);
  }
  std::stable_sort(depth_at.begin(), depth_at.end(), [&](const auto& a, const auto& b) {
    return std::make_pair(events[a.second].ev.time_ms, a.first)
           < std::make_pair(events[b.second].ev.time_ms, b.first);
  });
  for (auto& [d, i] : depth_at)
    v.events.push_back(std::move(events[i]));

  struct step_times {
    std::optional<int64_t> requested, resulted, ok_at;
    int attempts = 0;
    std::string error, completed; // completed: PlanStepCompleted's status
  };
  std::map<int, turn_view> turns;
  std::map<int, std::map<std::string, step_times>> times;
  for (auto& e : v.events) {
    int n = events::turn_of(e.ev.data);
    auto& t = turns[n];
    t.turn = n;
    auto& st = times[n];
    std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, events::user_query_received>) {
          if (!t.asked_at) {
            t.question = d.query;
            t.asked_at = e.ev.time_ms;
          }
        } else if constexpr (std::is_same_v<T, events::plan_generated>) {
          if (!t.plan || d.plan_version > t.plan->plan_version) {
            t.plan = d;
            t.revisions.clear();
            if (!d.resolved_query.empty())
              t.resolved_query = d.resolved_query;
          }
        } else if constexpr (std::is_same_v<T, events::plan_revised>) {
          if (t.plan
              && d.plan_version
                   == t.plan->plan_version + static_cast<int>(t.revisions.size()) + 1) {
            t.plan->plan_json = merge_revision(t.plan->plan_json, d.plan_json);
            t.revisions.push_back("v" + std::to_string(d.plan_version) + " by "
                                  + d.planner_provider + "/" + d.planner_model + ": "
                                  + d.rationale);
          }
        } else if constexpr (std::is_same_v<T, events::tool_invocation_requested>) {
          auto& s = st[d.step_id];
          if (!s.requested)
            s.requested = e.ev.time_ms;
          s.attempts = std::max(s.attempts, d.attempt);
        } else if constexpr (std::is_same_v<T, events::tool_invocation_resulted>) {
          auto& s = st[d.step_id];
          s.resulted = e.ev.time_ms;
          if (d.ok && !s.ok_at)
            s.ok_at = e.ev.time_ms;
          if (!d.ok)
            s.error = d.error;
          s.attempts = std::max(s.attempts, d.attempt);
        } else if constexpr (std::is_same_v<T, events::plan_step_completed>) {
          st[d.step_id].completed = d.status;
        } else if constexpr (std::is_same_v<T, events::final_answer_synthesized>) {
          if (!t.answered_at) {
            t.answered_at = e.ev.time_ms;
            t.answer = d.answer;
            t.failed = d.failed;
          }
        } else if constexpr (std::is_same_v<T, events::turn_cancelled>) {
          t.cancelled = true;
        } else if constexpr (std::is_same_v<T, events::approval_requested>) {
          auto it = std::find_if(t.approvals.begin(), t.approvals.end(),
                                 [&](const approval_view& a) { return a.step == d.step_id; });
          if (it == t.approvals.end())
            t.approvals.push_back({d.step_id, d.tool, d.reason, d.expires_at, "pending"});
        } else if constexpr (std::is_same_v<T, events::approval_granted>
                             || std::is_same_v<T, events::approval_denied>) {
          for (auto& a : t.approvals)
            if (a.step == d.step_id)
              a.decision = std::is_same_v<T, events::approval_granted> ? "granted" : "denied";
        }
      },
      e.ev.data);
  }
  for (auto& [n, t] : turns) {
    if (t.plan)
      if (auto parsed = parse_plan(t.plan->plan_json)) {
        std::vector<timed_step> timed;
        for (auto& p : parsed->steps) {
          step_view s;
          s.id = p.id;
          s.tool = p.tool;
          s.depends_on = p.depends_on;
          auto it = times[n].find(p.id);
          if (it != times[n].end()) {
            auto& x = it->second;
            s.requested_at = x.requested;
            // A step ends with its successful result, or its last failed one.
            s.resulted_at = x.ok_at ? x.ok_at : x.resulted;
            s.attempts = x.attempts;
            if (x.completed == "ok" || (x.completed.empty() && x.ok_at))
              s.status = "done";
            else if (x.completed == "error")
              s.status = "failed";
            else if (x.requested)
              s.status = t.answered_at || t.cancelled ? "failed" : "running";
            if (s.status != "done")
              s.error = x.error;
          }
          int64_t ms = s.requested_at && s.resulted_at ? *s.resulted_at - *s.requested_at : 0;
          timed.push_back({s.id, s.depends_on, ms});
          t.steps.push_back(std::move(s));
        }
        t.critical_path = critical_path(timed);
      }
    v.turns.push_back(std::move(t));
  }
  return v;
}

// -- JSON --------------------------------------------------------------------------------

namespace {

void write_summary(writer& w, const conversation_summary& s) {
  auto t = s.latest();
  w.StartObject();
  w.Key("id");
  put(w, s.id);
  w.Key("state");
  put(w, to_string(s.state()));
  w.Key("question");
  put(w, t ? t->question : "");
  w.Key("turns");
  w.Int(s.turns.empty() ? 0 : s.turns.rbegin()->first);
  w.Key("startedAt");
  w.Int64(s.started_at);
  w.Key("updatedAt");
  w.Int64(s.updated_at);
  w.Key("latencyMs");
  if (t && t->answered_at && !t->question.empty())
    w.Int64(*t->answered_at - t->asked_at);
  else
    w.Null();
  w.Key("planSteps");
  w.Uint64(t ? t->plan_steps : 0);
  w.Key("events");
  w.Uint64(s.events);
  w.EndObject();
}

} // namespace

std::string summary_json(const conversation_summary& s) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  write_summary(w, s);
  return buf.GetString();
}

std::string conversation_json(const conversation_view& v) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  const auto& s = v.summary;
  w.StartObject();
  w.Key("id");
  put(w, s.id);
  w.Key("state");
  put(w, to_string(s.state()));
  w.Key("startedAt");
  w.Int64(s.started_at);
  w.Key("updatedAt");
  w.Int64(s.updated_at);
  w.Key("events");
  w.Uint64(s.events);
  w.Key("turns");
  w.StartArray();
  for (auto& t : v.turns) {
    w.StartObject();
    w.Key("turn");
    w.Int(t.turn);
    w.Key("question");
    put(w, t.question);
    w.Key("resolvedQuery");
    put(w, t.resolved_query);
    w.Key("askedAt");
    put_opt(w, t.asked_at);
    w.Key("answeredAt");
    put_opt(w, t.answered_at);
    w.Key("latencyMs");
    put_opt(w, t.asked_at && t.answered_at ? std::optional<int64_t>(*t.answered_at - *t.asked_at)
                                           : std::nullopt);
    w.Key("answer");
    if (t.answered_at)
      put(w, t.answer);
    else
      w.Null();
    w.Key("failed");
    w.Bool(t.failed);
    w.Key("cancelled");
    w.Bool(t.cancelled);
    w.Key("plan");
    if (t.plan) {
      w.StartObject();
      w.Key("version");
      w.Int(t.plan->plan_version);
      w.Key("provider");
      put(w, t.plan->planner_provider);
      w.Key("model");
      put(w, t.plan->planner_model);
      w.Key("planningMs");
      w.Int64(t.plan->planning_ms);
      w.Key("revisions");
      w.StartArray();
      for (auto& r : t.revisions)
        put(w, r);
      w.EndArray();
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("steps");
    w.StartArray();
    for (auto& st : t.steps) {
      w.StartObject();
      w.Key("id");
      put(w, st.id);
      w.Key("tool");
      put(w, st.tool);
      w.Key("dependsOn");
      w.StartArray();
      for (auto& d : st.depends_on)
        put(w, d);
      w.EndArray();
      w.Key("requestedAt");
      put_opt(w, st.requested_at);
      w.Key("resultedAt");
      put_opt(w, st.resulted_at);
      w.Key("durationMs");
      put_opt(w, st.requested_at && st.resulted_at
                   ? std::optional<int64_t>(*st.resulted_at - *st.requested_at)
                   : std::nullopt);
      w.Key("status");
      put(w, st.status);
      w.Key("attempts");
      w.Int(st.attempts);
      w.Key("error");
      put(w, st.error);
      w.EndObject();
    }
    w.EndArray();
    w.Key("criticalPath");
    w.StartArray();
    for (auto& id : t.critical_path)
      put(w, id);
    w.EndArray();
    w.Key("approvals");
    w.StartArray();
    for (auto& a : t.approvals) {
      w.StartObject();
      w.Key("step");
      put(w, a.step);
      w.Key("tool");
      put(w, a.tool);
      w.Key("reason");
      put(w, a.reason);
      w.Key("expiresAt");
      w.Int64(a.expires_at);
      w.Key("decision");
      put(w, a.decision);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string events_json(const conversation_view& v) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("conversationId");
  put(w, v.summary.id);
  w.Key("events");
  w.StartArray();
  for (auto& e : v.events) {
    w.StartObject();
    w.Key("position");
    put(w, e.topic + "/" + std::to_string(e.partition) + "@" + std::to_string(e.offset));
    w.Key("topic");
    put(w, e.topic);
    w.Key("partition");
    w.Int(e.partition);
    w.Key("offset");
    w.Int64(e.offset);
    w.Key("type");
    put(w, events::type_name(e.ev.data));
    w.Key("id");
    put(w, e.ev.id);
    w.Key("causationId");
    put(w, e.ev.causation_id);
    w.Key("time");
    w.Int64(e.ev.time_ms);
    w.Key("event");
    put_raw(w, e.raw);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string approvals_json(const std::vector<pending_step_approval>& pending) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("approvals");
  w.StartArray();
  for (auto& a : pending) {
    w.StartObject();
    w.Key("conversationId");
    put(w, a.conversation);
    w.Key("turn");
    w.Int(a.turn);
    w.Key("step");
    put(w, a.step);
    w.Key("tool");
    put(w, a.tool);
    w.Key("args");
    put_raw(w, a.args_json);
    w.Key("reason");
    put(w, a.reason);
    w.Key("expiresAt");
    w.Int64(a.expires_at);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

} // namespace eventide::core
