// Following a conversation in the log: each event as one line as it happens, then the answer.
#include "follow.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <utility>

#include "core/json.hpp"
#include "options.hpp"
#include "schemas/codec.hpp"
#include "storage/dead_letter.hpp"

namespace eventide::cli {

namespace {

// "s3 shipOrder undone by cancelShipment, s1 placeOrder: cancelOrder not run".
std::string saga_summary(const std::string& compensations_json) {
  std::string s;
  auto doc = json::parse(compensations_json);
  if (!doc || !doc->IsArray())
    return s;
  for (const auto& c : doc->GetArray()) {
    auto field = [&](const char* k) { return json::get_string(c, k).value_or("?"); };
    auto status = field("status");
    s += (s.empty() ? "" : ", ") + field("stepId") + " " + field("tool")
         + (status == "done" ? " undone by " + field("compensation")
                             : ": " + field("compensation") + " " + status);
  }
  return s;
}

} // namespace

std::string summarize(const events::event& e) {
  auto who = [](const std::string& user, const std::string& reason) {
    return (user.empty() ? std::string("nobody") : user) + (reason.empty() ? "" : ": " + reason);
  };
  return std::visit(
    [&](const auto& d) -> std::string {
      using T = std::decay_t<decltype(d)>;
      if constexpr (std::is_same_v<T, events::user_query_received>) {
        return "\"" + d.query + "\"";
      } else if constexpr (std::is_same_v<T, events::plan_generated>) {
        std::string s = "v" + std::to_string(d.plan_version) + " by " + d.planner_provider
                        + "/" + d.planner_model + ":";
        if (auto doc = json::parse(d.plan_json); doc && (*doc).HasMember("steps"))
          for (auto& st : (*doc)["steps"].GetArray())
            s += " " + json::to_text(st["id"]) + "=" + json::to_text(st["tool"]);
        return s;
      } else if constexpr (std::is_same_v<T, events::planning_failed>) {
        return d.reason;
      } else if constexpr (std::is_same_v<T, events::tool_invocation_requested>) {
        return d.step_id + " " + d.tool + " attempt " + std::to_string(d.attempt) + " "
               + d.args_json;
      } else if constexpr (std::is_same_v<T, events::tool_invocation_resulted>) {
        auto s = d.step_id + " " + d.tool + (d.ok ? " ok" : " error") + " in "
                 + std::to_string(d.worker_ms) + " ms";
        return d.ok ? s : s + ": " + d.error + (d.retryable ? " (retryable)" : "");
      } else if constexpr (std::is_same_v<T, events::plan_step_completed>) {
        return d.step_id + " " + d.status + " after " + std::to_string(d.attempts)
               + (d.attempts == 1 ? " attempt" : " attempts");
      } else if constexpr (std::is_same_v<T, events::plan_completed>) {
        return "all steps done";
      } else if constexpr (std::is_same_v<T, events::plan_failed>) {
        return d.reason;
      } else if constexpr (std::is_same_v<T, events::synthesize_final_answer_requested>) {
        return d.failure.empty() ? "results ready" : "failure: " + d.failure;
      } else if constexpr (std::is_same_v<T, events::plan_revision_requested>) {
        return "after v" + std::to_string(d.plan_version) + ": " + d.reason;
      } else if constexpr (std::is_same_v<T, events::plan_revised>) {
        std::string s = "v" + std::to_string(d.plan_version) + " by " + d.planner_provider + "/"
                        + d.planner_model + ":";
        if (auto doc = json::parse(d.plan_json); doc && doc->IsObject() && (*doc).HasMember("steps"))
          for (auto& st : (*doc)["steps"].GetArray())
            s += " " + json::to_text(st["id"]) + "=" + json::to_text(st["tool"]);
        else
          s += " finish";
        return d.rationale.empty() ? s : s + " (" + d.rationale + ")";
      } else if constexpr (std::is_same_v<T, events::plan_compensated>) {
        return saga_summary(d.compensations_json);
      } else if constexpr (std::is_same_v<T, events::compensation_failed>) {
        return d.error + " (" + saga_summary(d.compensations_json) + ")";
      } else if constexpr (std::is_same_v<T, events::approval_requested>) {
        return d.step_id + " " + d.tool + " " + d.args_json + ": " + d.reason
               + " (eventide approve|reject " + e.subject + " " + d.step_id + ")";
      } else if constexpr (std::is_same_v<T, events::approval_submitted>) {
        return d.step_id + (d.approve ? " approve" : " reject") + " by " + who(d.user_id, d.reason);
      } else if constexpr (std::is_same_v<T, events::approval_granted>
                           || std::is_same_v<T, events::approval_denied>) {
        return d.step_id + " by " + who(d.user_id, d.reason);
      } else if constexpr (std::is_same_v<T, events::cancel_requested>
                           || std::is_same_v<T, events::turn_cancelled>
                           || std::is_same_v<T, events::compensation_retry_requested>) {
        return "by " + who(d.user_id, d.reason);
      } else {
        return "by " + d.provider + "/" + d.model;
      }
    },
    e.data);
}

int follow(follower& f, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool plan_failed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f.on_tick)
      f.on_tick();
    auto batch = f.consumer->poll(64, std::chrono::milliseconds(100));
    if (!batch)
      die(exit_failed, "reading the log failed: " + batch.error());
    // Two topics are followed; within a batch show events in the order they happened.
    std::vector<std::pair<events::event, std::string>> ready;
    for (auto& rec : *batch) {
      if (rec.key != f.conversation)
        continue;
      if (!f.dead_letter_topic.empty() && rec.topic == f.dead_letter_topic) {
        auto letter = storage::decode_dead_letter(rec.value);
        if (letter && letter->source_topic == f.question_topic
            && letter->partition == f.question.partition && letter->offset == f.question.offset) {
          std::cerr << "eventide: " << f.what << " was refused (" << letter->consumer_group
                    << "): " << letter->reason << std::endl;
          return exit_failed;
        }
        continue;
      }
      auto ev = events::decode(rec.value);
      // An undecodable record is dead-lettered by the roles; the user sees the outcome.
      if (ev && events::turn_of(ev->data) == f.turn)
        ready.emplace_back(std::move(*ev), std::move(rec.value));
    }
    std::stable_sort(ready.begin(), ready.end(), [](const auto& a, const auto& b) {
      return a.first.time_ms < b.first.time_ms;
    });
    // Clocks tick in milliseconds: within the batch, an event whose cause is still to come
    // waits for it (a result is never shown before its request).
    for (size_t i = 0; i < ready.size(); ++i)
      for (size_t moves = 0; moves < ready.size(); ++moves) { // bounded: causes cannot cycle us
        auto cause = std::find_if(ready.begin() + i + 1, ready.end(), [&](const auto& r) {
          return r.first.id == ready[i].first.causation_id;
        });
        if (cause == ready.end())
          break;
        std::rotate(ready.begin() + i, cause, cause + 1); // the cause first
      }
    for (auto& [decoded, raw] : ready) {
      auto* ev = &decoded;
      if (f.json) {
        f.trace.push_back(raw);
      } else {
        char head[64];
        std::snprintf(head, sizeof head, "[%7.1f ms] %-24s ",
                      static_cast<double>(ev->time_ms - f.started_ms), events::type_name(ev->data));
        std::cout << head << summarize(*ev) << std::endl;
      }
      if (f.on_event)
        f.on_event(*ev);
      if (std::find(f.until.begin(), f.until.end(), events::type_name(ev->data)) != f.until.end())
        return std::holds_alternative<events::compensation_failed>(ev->data) ? exit_failed : exit_ok;
      if (std::holds_alternative<events::plan_failed>(ev->data)
          || std::holds_alternative<events::planning_failed>(ev->data))
        plan_failed = true;
      if (auto a = std::get_if<events::final_answer_synthesized>(&ev->data)) {
        if (f.json) {
          std::cout << "{\"conversationId\":" << json::quote(f.conversation);
          if (f.turn != 1)
            std::cout << ",\"turn\":" << f.turn;
          std::cout << ",\"events\":[";
          for (size_t i = 0; i < f.trace.size(); ++i)
            std::cout << (i ? "," : "") << f.trace[i];
          std::cout << "]}" << std::endl;
        } else {
          std::cout << "\nAnswer:\n" << a->answer << std::endl;
          if (!a->citations.empty()) {
            std::cout << "\nSources:";
            for (auto& c : a->citations)
              std::cout << " " << c;
            std::cout << std::endl;
          }
        }
        return a->failed || plan_failed ? exit_failed : exit_ok;
      }
    }
  }
  std::cerr << "eventide: no answer for conversation " << f.conversation << " within "
            << timeout.count() << " s; it continues in the log (run `eventide resume`)"
            << std::endl;
  return exit_timeout;
}

} // namespace eventide::cli
