#include "core/conversation_memory.hpp"

#include "core/plan.hpp"

#include <algorithm>
#include <type_traits>

#include "core/json.hpp"
#include "core/text.hpp"

namespace eventide::core {

conversation_memory::conversation_memory(std::string conversation_id, size_t max_turns)
    : conversation_id_(std::move(conversation_id)), max_turns_(std::max<size_t>(1, max_turns)) {}

turn_memory* conversation_memory::get(int turn) {
  if (auto it = turns_.find(turn); it != turns_.end())
    return &it->second;
  if (turn <= answered_through_)
    return nullptr; // answered and forgotten: a late duplicate
  auto& t = turns_[turn];
  t.turn = turn;
  return &t;
}

const turn_memory* conversation_memory::find(int turn) const {
  auto it = turns_.find(turn);
  return it == turns_.end() ? nullptr : &it->second;
}

bool conversation_memory::folds(const events::payload& p) {
  return std::holds_alternative<events::user_query_received>(p)
         || std::holds_alternative<events::plan_generated>(p)
         || std::holds_alternative<events::planning_failed>(p)
         || std::holds_alternative<events::plan_completed>(p)
         || std::holds_alternative<events::plan_failed>(p)
         || std::holds_alternative<events::final_answer_synthesized>(p)
         || std::holds_alternative<events::plan_revision_requested>(p)
         || std::holds_alternative<events::plan_revised>(p);
}

outcome<void> conversation_memory::apply(const events::event& e) {
  const int turn = events::turn_of(e.data);
  if (auto q = std::get_if<events::user_query_received>(&e.data)) {
    // Answered and forgotten: a redelivery, or a replay that read the answers (their own
    // topic) before the questions. Still counted as asked, so that the next turn is in order.
    if (turn <= answered_through_ && !find(turn)) {
      last_asked_ = std::max(last_asked_, turn);
      return {};
    }
    if (auto known = find(turn); known && !known->question.empty()) {
      if (known->question == q->query)
        return {};
      return fail("turn " + std::to_string(turn) + " of conversation " + conversation_id_
                  + " was already asked with other words ('" + shorten(known->question) + "')");
    }
    if (turn > last_asked_ + 1)
      return fail("turn " + std::to_string(turn) + " of conversation " + conversation_id_
                  + " skips turn " + std::to_string(last_asked_ + 1) + " (turns are asked in order)");
    auto* t = get(turn);
    t->question = q->query;
    t->query_id = e.id;
    t->asked_by = q->user_id;
    last_asked_ = std::max(last_asked_, turn);
    return {};
  }
  std::visit(
    [&](const auto& d) {
      using T = std::decay_t<decltype(d)>;
      constexpr bool relevant =
        std::is_same_v<T, events::plan_generated> || std::is_same_v<T, events::planning_failed>
        || std::is_same_v<T, events::plan_completed> || std::is_same_v<T, events::plan_failed>
        || std::is_same_v<T, events::final_answer_synthesized> || std::is_same_v<T, events::plan_revised>;
      if constexpr (relevant) {
        auto* t = get(turn);
        if (!t)
          return;
        if constexpr (std::is_same_v<T, events::plan_generated>) {
          if (!d.resolved_query.empty())
            t->resolved = d.resolved_query;
          if (d.plan_version > t->plan_version) {
            t->plan_json = d.plan_json;
            t->plan_version = d.plan_version;
          }
        } else if constexpr (std::is_same_v<T, events::plan_revised>) {
          if (d.plan_version == t->plan_version + 1) { // once, in order: apply() is idempotent
            t->plan_json = merge_revision(t->plan_json, d.plan_json);
            t->plan_version = d.plan_version;
          }
        } else if constexpr (std::is_same_v<T, events::planning_failed>) {
          t->failed = true;
        } else if constexpr (std::is_same_v<T, events::plan_completed>) {
          t->results_json = d.results_json;
        } else if constexpr (std::is_same_v<T, events::plan_failed>) {
          t->results_json = d.partial_results_json;
          t->failed = true;
        } else {
          t->answer = d.answer;
          t->status = turn_status::answered;
        }
        if (t->status == turn_status::asked)
          t->status = turn_status::planned;
      }
    },
    e.data);
  // Answers come in turn order, but a replay may read the answer of turn n + 1 (its own topic)
  // before a record that names turn n: advance only over a gap-free run.
  for (auto it = turns_.find(answered_through_ + 1);
       it != turns_.end() && it->second.status == turn_status::answered;
       it = turns_.find(answered_through_ + 1))
    ++answered_through_;
  forget_old();
  return {};
}

void conversation_memory::forget_old() {
  size_t answered = 0;
  for (auto& [n, t] : turns_)
    answered += n <= answered_through_ ? 1 : 0;
  for (auto it = turns_.begin(); answered > max_turns_ && it != turns_.end() && it->first <= answered_through_;) {
    it = turns_.erase(it);
    --answered;
  }
}

const turn_memory* conversation_memory::next_to_plan() const {
  auto* t = find(answered_through_ + 1);
  if (!t || t->question.empty() || t->status != turn_status::asked)
    return nullptr;
  return t;
}

std::vector<const turn_memory*> conversation_memory::history_before(int turn) const {
  std::vector<const turn_memory*> out;
  for (auto& [n, t] : turns_)
    if (n < turn && t.status == turn_status::answered)
      out.push_back(&t);
  return out;
}

const char* to_string(turn_status s) {
  switch (s) {
    case turn_status::asked: return "asked";
    case turn_status::planned: return "planned";
    case turn_status::answered: return "answered";
  }
  return "?";
}

std::string conversation_memory::digest() const {
  std::string out = "memory " + conversation_id_ + " lastAsked=" + std::to_string(last_asked_)
                    + " answeredThrough=" + std::to_string(answered_through_) + "\n";
  for (auto& [n, t] : turns_)
    out += "turn " + std::to_string(n) + " " + to_string(t.status) + (t.failed ? " failed" : "")
           + " q=" + json::quote(t.question) + " id=" + json::quote(t.query_id)
           + (t.asked_by.empty() ? "" : " by=" + json::quote(t.asked_by))
           + " resolved=" + json::quote(t.resolved) + " plan=" + json::quote(t.plan_json)
           + (t.plan_version > 1 ? " planVersion=" + std::to_string(t.plan_version) : "")
           + " results=" + json::quote(t.results_json) + " answer=" + json::quote(t.answer) + "\n";
  return out;
}

std::string conversation_memory::snapshot() const {
  json::document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("v", 1, a);
  d.AddMember("lastAsked", last_asked_, a);
  d.AddMember("answeredThrough", answered_through_, a);
  json::value turns(rapidjson::kArrayType);
  for (auto& [n, t] : turns_) {
    json::value o(rapidjson::kObjectType);
    o.AddMember("turn", n, a);
    o.AddMember("status", json::str(to_string(t.status), a), a);
    o.AddMember("failed", t.failed, a);
    o.AddMember("question", json::str(t.question, a), a);
    o.AddMember("queryId", json::str(t.query_id, a), a);
    if (!t.asked_by.empty())
      o.AddMember("askedBy", json::str(t.asked_by, a), a);
    o.AddMember("resolved", json::str(t.resolved, a), a);
    o.AddMember("plan", json::str(t.plan_json, a), a);
    if (t.plan_version > 1)
      o.AddMember("planVersion", t.plan_version, a);
    o.AddMember("results", json::str(t.results_json, a), a);
    o.AddMember("answer", json::str(t.answer, a), a);
    turns.PushBack(o, a);
  }
  d.AddMember("turns", turns, a);
  return json::dump(d);
}

outcome<conversation_memory> conversation_memory::restore(std::string conversation_id,
                                                          size_t max_turns,
                                                          std::string_view snapshot) {
  auto doc = json::parse(snapshot);
  if (!doc)
    return fail("memory snapshot of " + conversation_id + ": " + doc.error());
  auto& d = *doc;
  auto bad = [&](const std::string& what) {
    return fail("memory snapshot of " + conversation_id + ": bad or missing " + what);
  };
  if (!d.IsObject() || json::get_int(d, "v").value_or(0) != 1)
    return bad("version");
  auto last = json::get_int(d, "lastAsked");
  auto through = json::get_int(d, "answeredThrough");
  auto turns = d.FindMember("turns");
  if (!last || !through || turns == d.MemberEnd() || !turns->value.IsArray())
    return bad("counters");
  conversation_memory m(std::move(conversation_id), max_turns);
  m.last_asked_ = static_cast<int>(*last);
  m.answered_through_ = static_cast<int>(*through);
  for (auto& o : turns->value.GetArray()) {
    if (!o.IsObject())
      return bad("turn");
    auto n = json::get_int(o, "turn");
    auto status = json::get_string(o, "status");
    auto failed = json::get_bool(o, "failed");
    auto question = json::get_string(o, "question");
    auto query_id = json::get_string(o, "queryId");
    auto resolved = json::get_string(o, "resolved");
    auto plan = json::get_string(o, "plan");
    auto results = json::get_string(o, "results");
    auto answer = json::get_string(o, "answer");
    if (!n || !status || !failed || !question || !query_id || !resolved || !plan || !results
        || !answer)
      return bad("turn fields");
    turn_memory t;
    t.turn = static_cast<int>(*n);
    auto parsed = parse_enum(*status, {turn_status::asked, turn_status::planned,
                                       turn_status::answered});
    if (!parsed)
      return bad("turn status");
    t.status = *parsed;
    t.failed = *failed;
    t.question = *question;
    t.query_id = *query_id;
    t.asked_by = json::get_string(o, "askedBy").value_or(""); // absent in older snapshots
    t.resolved = *resolved;
    t.plan_json = *plan;
    // Absent: version 1 (or none, without a plan); written only after a revision.
    t.plan_version = static_cast<int>(json::get_int(o, "planVersion").value_or(t.plan_json.empty() ? 0 : 1));
    t.results_json = *results;
    t.answer = *answer;
    m.turns_[t.turn] = std::move(t);
  }
  m.forget_old(); // a smaller max_turns than the writer's
  return m;
}

} // namespace eventide::core
