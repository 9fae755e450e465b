// trace: a conversation's timeline: events, offsets, causes, plan DAG, critical path.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "actors/node.hpp"
#include "commands.hpp"
#include "trace.hpp"
#include "core/critical_path.hpp"
#include "core/json.hpp"
#include "core/plan.hpp"
#include "log_io.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

// The conversation's timeline from the log: every event with its position, time and cause,
// then the plan DAG with per-step latency and the critical path.
int print_trace(storage::log& log, const options& cfg, const std::string& conv) {
  topics t(cfg.topic_prefix);
  struct entry {
    std::string where;
    events::event ev;
    std::string raw;
    int depth = 0;
  };
  std::vector<entry> entries;
  read_to_end(log, {t.user_commands, t.conversation_events, t.tool_requests},
              [&](const storage::record& rec) {
                if (auto ev = events::decode(rec.value))
                  entries.push_back({rec.topic + "/" + std::to_string(rec.partition) + "@"
                                       + std::to_string(rec.offset),
                                     std::move(*ev), rec.value});
              },
              conv);
  if (entries.empty())
    die(exit_failed, "no events for conversation " + conv + " in " + log.describe());
  // In time order; within a millisecond a cause before its effects (its depth in the chain of
  // causation ids: the question 0, its plan 1, ...).
  std::map<std::string, std::string> cause_of;
  for (auto& e : entries)
    cause_of.emplace(e.ev.id, e.ev.causation_id);
  auto depth = [&](const entry& e) {
    int d = 0;
    for (auto c = e.ev.causation_id; !c.empty() && d < 1000; ++d) {
      auto it = cause_of.find(c);
      c = it == cause_of.end() ? std::string() : it->second;
    }
    return d;
  };
  for (auto& e : entries)
    e.depth = depth(e);
  std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
    return std::tie(a.ev.time_ms, a.depth) < std::tie(b.ev.time_ms, b.depth);
  });
  if (cfg.json) {
    std::cout << "{\"conversationId\":" << json::quote(conv) << ",\"events\":[";
    for (size_t i = 0; i < entries.size(); ++i)
      std::cout << (i ? "," : "") << entries[i].raw;
    std::cout << "]}" << std::endl;
    return exit_ok;
  }
  auto t0 = entries.front().ev.time_ms;
  auto short_id = [&](const std::string& id) {
    return id.rfind(conv + "/", 0) == 0 ? id.substr(conv.size() + 1) : id;
  };
  std::cout << "conversation " << conv << ": " << entries.size() << " events\n\n";
  std::printf("%-34s %8s  %-31s %-28s %s\n", "position", "+ms", "type", "id", "caused by");
  // LLM token usage: planning, each step's result, synthesis.
  struct usage {
    int64_t prompt = 0, completion = 0;
    bool any = false;
    void add(int64_t p, int64_t c) {
      if (p < 0 && c < 0)
        return;
      prompt += std::max<int64_t>(p, 0);
      completion += std::max<int64_t>(c, 0);
      any = true;
    }
  };
  // What the log says about one turn.
  struct turn_trace {
    std::string question, resolved;
    int64_t asked_at = 0;
    std::optional<int64_t> answered_at;
    std::optional<events::plan_generated> plan; // its first version; revisions merged in
    std::vector<std::string> revisions;         // "v2 by offline/rule-based: <rationale>"
    std::map<std::string, int64_t> requested_at, resulted_at; // by step id
    std::map<std::string, usage> step_tokens;
  };
  std::map<int, turn_trace> turns;
  usage total;
  for (auto& e : entries) {
    std::printf("%-34s %8.1f  %-31s %-28s %s\n", e.where.c_str(),
                static_cast<double>(e.ev.time_ms - t0), events::type_name(e.ev.data),
                short_id(e.ev.id).c_str(),
                e.ev.causation_id.empty() ? "-" : short_id(e.ev.causation_id).c_str());
    auto& tt = turns[events::turn_of(e.ev.data)];
    if (auto q = std::get_if<events::user_query_received>(&e.ev.data); q && tt.question.empty()) {
      tt.question = q->query;
      tt.asked_at = e.ev.time_ms;
    }
    if (auto g = std::get_if<events::plan_generated>(&e.ev.data);
        g && (!tt.plan || g->plan_version > tt.plan->plan_version)) {
      tt.plan = *g; // each version's planning counts once
      tt.revisions.clear();
      if (!g->resolved_query.empty())
        tt.resolved = g->resolved_query;
      total.add(g->prompt_tokens, g->completion_tokens);
    }
    if (auto r = std::get_if<events::plan_revised>(&e.ev.data);
        r && tt.plan
        && r->plan_version == tt.plan->plan_version + static_cast<int>(tt.revisions.size()) + 1) {
      // Every step of the turn under one DAG, whichever version added it.
      tt.plan->plan_json = core::merge_revision(tt.plan->plan_json, r->plan_json);
      tt.revisions.push_back("v" + std::to_string(r->plan_version) + " by " + r->planner_provider
                             + "/" + r->planner_model + ": " + r->rationale);
      total.add(r->prompt_tokens, r->completion_tokens);
    }
    if (auto r = std::get_if<events::tool_invocation_requested>(&e.ev.data))
      tt.requested_at.emplace(r->step_id, e.ev.time_ms);
    if (auto r = std::get_if<events::tool_invocation_resulted>(&e.ev.data)) {
      // Each step counts once (a duplicate result is the same effect).
      if (tt.resulted_at.emplace(r->step_id, e.ev.time_ms).second && r->ok)
        if (auto res = json::parse(r->result_json); res && res->IsObject())
          if (auto tk = json::find_path(*res, "tokens"); tk && tk->IsObject()) {
            auto p = json::get_int(*tk, "prompt").value_or(-1);
            auto c = json::get_int(*tk, "completion").value_or(-1);
            tt.step_tokens[r->step_id].add(p, c);
            total.add(p, c);
          }
    }
    if (auto a = std::get_if<events::final_answer_synthesized>(&e.ev.data);
        a && !tt.answered_at) {
      tt.answered_at = e.ev.time_ms;
      total.add(a->prompt_tokens, a->completion_tokens);
    }
  }
  const bool many = turns.size() > 1 || turns.begin()->first != 1;
  for (auto& [turn, tt] : turns) {
    if (many) {
      std::cout << "\nturn " << turn << ": "
                << (tt.question.empty() ? "(question not in the log)" : "\"" + tt.question + "\"");
      if (!tt.resolved.empty())
        std::cout << ", planned as \"" << tt.resolved << "\"";
      std::cout << "\n";
    }
    if (tt.answered_at)
      std::cout << (many ? "" : "\n") << "question to answer: "
                << (*tt.answered_at - (tt.question.empty() ? t0 : tt.asked_at)) << " ms\n";
    if (!many && total.any)
      std::cout << "LLM tokens: " << total.prompt << " prompt + " << total.completion
                << " completion = " << (total.prompt + total.completion)
                << " (planning, steps and synthesis)\n";
    if (!tt.plan)
      continue;
    auto parsed = core::parse_plan(tt.plan->plan_json);
    if (!parsed)
      continue;
    std::cout << (many ? "" : "\n") << "plan v" << tt.plan->plan_version << " by "
              << tt.plan->planner_provider << "/" << tt.plan->planner_model << " (planned in "
              << tt.plan->planning_ms << " ms):\n";
    for (const auto& r : tt.revisions)
      std::cout << "revised " << r << "\n";
    std::vector<core::timed_step> timed;
    for (auto& st : parsed->steps) {
      std::string deps;
      for (auto& d : st.depends_on)
        deps += (deps.empty() ? " <- " : ", ") + d;
      auto rq = tt.requested_at.find(st.id);
      auto rs = tt.resulted_at.find(st.id);
      int64_t ms =
        rq != tt.requested_at.end() && rs != tt.resulted_at.end() ? rs->second - rq->second : 0;
      std::string took = rs == tt.resulted_at.end() ? "no result" : std::to_string(ms) + " ms";
      if (auto tk = tt.step_tokens.find(st.id); tk != tt.step_tokens.end())
        took += ", " + std::to_string(tk->second.prompt + tk->second.completion) + " tokens";
      std::printf("  %-4s %-24s %-14s %s\n", st.id.c_str(), st.tool.c_str(), deps.c_str(),
                  took.c_str());
      timed.push_back({st.id, st.depends_on, ms});
    }
    std::string path;
    for (auto& id : core::critical_path(timed))
      path += (path.empty() ? "" : " -> ") + id;
    std::cout << "critical path: " << path << std::endl;
  }
  if (many && total.any)
    std::cout << "\nLLM tokens: " << total.prompt << " prompt + " << total.completion
              << " completion = " << (total.prompt + total.completion)
              << " (planning, steps and synthesis)\n";
  return exit_ok;
}

int run_trace(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (cl.positionals.size() != 1)
    throw usage_error{"usage: eventide trace CONVERSATION_ID"};
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  return print_trace(*log, cfg, cl.positionals[0]);
}

} // namespace eventide::cli
