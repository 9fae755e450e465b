#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace eventide::core {

latency_summary summarize_latency(std::vector<double> v) {
  latency_summary s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    auto i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size(), std::max<size_t>(i, 1)) - 1];
  };
  double sum = 0;
  for (auto x : v)
    sum += x;
  s.count = v.size();
  s.mean_ms = sum / static_cast<double>(v.size());
  s.p50_ms = rank(0.50);
  s.p95_ms = rank(0.95);
  s.p99_ms = rank(0.99);
  s.max_ms = v.back();
  return s;
}

void metrics_fold::apply(const events::event& e, const std::string& topic) {
  ++events_;
  ++by_topic_[topic];
  ++by_type_[events::type_name(e.data)];
  if (first_ms_ == 0 || e.time_ms < first_ms_)
    first_ms_ = e.time_ms;
  last_ms_ = std::max(last_ms_, e.time_ms);
  auto& c = conversations_[e.subject];
  if (std::holds_alternative<events::user_query_received>(e.data)) {
    if (c.asked_ms < 0)
      c.asked_ms = e.time_ms;
  } else if (auto a = std::get_if<events::final_answer_synthesized>(&e.data)) {
    if (c.answered_ms < 0) {
      c.answered_ms = e.time_ms;
      c.failed = a->failed;
    }
  } else if (auto r = std::get_if<events::tool_invocation_requested>(&e.data)) {
    if (r->attempt > 1)
      ++retries_;
    // The step's latency runs from its first request (a retry is part of it).
    auto& inv = invocations_[r->invocation_id];
    inv.tool = r->tool;
    if (inv.requested_ms < 0 || e.time_ms < inv.requested_ms)
      inv.requested_ms = e.time_ms;
  } else if (auto r = std::get_if<events::tool_invocation_resulted>(&e.data)) {
    if (!r->ok)
      ++tool_errors_;
    if (r->ok || !r->retryable) { // a final result ends the step
      auto& inv = invocations_[r->invocation_id];
      inv.tool = r->tool;
      if (inv.resulted_ms < 0 || e.time_ms < inv.resulted_ms)
        inv.resulted_ms = e.time_ms;
    }
  }
}

void metrics_fold::dead_letter(const std::string& group) {
  ++dead_letters_[group];
}

metrics_report metrics_fold::report() const {
  metrics_report r;
  std::vector<double> e2e;
  for (auto& [id, c] : conversations_) {
    if (c.asked_ms < 0)
      continue; // only events of a conversation whose question is not in view
    ++r.conversations;
    if (c.answered_ms < 0) {
      ++r.open;
      continue;
    }
    ++r.answered;
    if (c.failed)
      ++r.failed;
    e2e.push_back(static_cast<double>(c.answered_ms - c.asked_ms));
  }
  r.end_to_end = summarize_latency(std::move(e2e));
  std::map<std::string, std::vector<double>> tool_ms;
  for (auto& [id, inv] : invocations_)
    if (inv.requested_ms >= 0 && inv.resulted_ms >= 0)
      tool_ms[inv.tool].push_back(static_cast<double>(inv.resulted_ms - inv.requested_ms));
  for (auto& [tool, v] : tool_ms)
    r.per_tool[tool] = summarize_latency(std::move(v));
  r.events_by_type = by_type_;
  r.events_by_topic = by_topic_;
  r.dead_letters_by_group = dead_letters_;
  r.tool_errors = tool_errors_;
  r.retries = retries_;
  r.first_ms = first_ms_;
  r.last_ms = last_ms_;
  auto span_s = static_cast<double>(last_ms_ - first_ms_) / 1000.0;
  r.events_per_second = span_s > 0 ? static_cast<double>(events_) / span_s : 0;
  return r;
}

} // namespace eventide::core
