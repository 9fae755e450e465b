#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace eventide::core {

namespace {

// Fills the window fields of `s` from the samples in it (nearest rank).
void fill_percentiles(std::vector<double> v, latency_summary& s) {
  s.window = v.size();
  if (v.empty())
    return;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    auto i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size(), std::max<size_t>(i, 1)) - 1];
  };
  s.p50_ms = rank(0.50);
  s.p95_ms = rank(0.95);
  s.p99_ms = rank(0.99);
  s.max_ms = v.back();
}

} // namespace

latency_summary summarize_latency(std::vector<double> v) {
  latency_summary s;
  for (auto x : v)
    s.sum_ms += x;
  s.count = v.size();
  s.mean_ms = v.empty() ? 0 : s.sum_ms / static_cast<double>(v.size());
  fill_percentiles(std::move(v), s);
  return s;
}

std::string role_of_source(const std::string& source) {
  static const std::string prefix = "eventide/";
  if (source.compare(0, prefix.size(), prefix) != 0)
    return {};
  auto end = source.find('/', prefix.size());
  if (end == std::string::npos || end == prefix.size())
    return {};
  return source.substr(prefix.size(), end - prefix.size());
}

metrics_fold::metrics_fold(size_t window, size_t recent)
  : window_(window), conversations_(recent), invocations_(recent), ids_(recent),
    finished_(recent) {
}

void metrics_fold::sample(series& s, double ms) {
  ++s.count;
  s.sum += ms;
  s.recent.push_back(ms);
  if (window_ > 0 && s.recent.size() > window_)
    s.recent.pop_front();
}

latency_summary metrics_fold::summarize(const series& s) {
  latency_summary out;
  out.count = s.count;
  out.sum_ms = s.sum;
  out.mean_ms = s.count ? s.sum / static_cast<double>(s.count) : 0;
  fill_percentiles(std::vector<double>(s.recent.begin(), s.recent.end()), out);
  return out;
}

void metrics_fold::conversation_done(const std::string& id, int64_t asked_ms,
                                     int64_t answered_ms, bool failed) {
  sample(end_to_end_, static_cast<double>(answered_ms - asked_ms));
  ++answered_;
  if (failed)
    ++failed_;
  conversations_.erase(id);
  // Remembered so that a late record of the conversation does not open it again.
  finished_.put("c/" + id, 0);
}

void metrics_fold::invocation_done(const std::string& id, const std::string& tool,
                                   int64_t requested_ms, int64_t resulted_ms) {
  sample(tools_[tool], static_cast<double>(resulted_ms - requested_ms));
  invocations_.erase(id);
  finished_.put("i/" + id, 0);
}

void metrics_fold::apply(const events::event& e, const std::string& topic) {
  // A redelivered record (Kafka 0.9 producer retry, a ledger answering a duplicate request)
  // carries the same deterministic event id: it is the same event, folded once.
  if (!e.id.empty()) {
    if (ids_.find(e.id)) {
      ++duplicates_;
      return;
    }
    ids_.put(e.id, e.time_ms);
  }
  ++events_;
  ++by_topic_[topic];
  ++by_type_[events::type_name(e.data)];
  if (first_ms_ == 0 || e.time_ms < first_ms_)
    first_ms_ = e.time_ms;
  last_ms_ = std::max(last_ms_, e.time_ms);

  // Processing time of the role that produced this event: from its cause. A cause folded
  // later (another topic ran ahead) or long forgotten gives no sample; nothing waits for it.
  if (!e.causation_id.empty()) {
    if (auto role = role_of_source(e.source); !role.empty()) {
      if (auto* caused_at = ids_.find(e.causation_id))
        sample(roles_[role], static_cast<double>(e.time_ms - *caused_at));
      else
        ++no_cause_[role];
    }
  }

  if (std::holds_alternative<events::user_query_received>(e.data)) {
    if (finished_.find("c/" + e.subject))
      return;
    auto* c = conversations_.find(e.subject);
    if (!c) {
      ++asked_;
      ++open_;
      if (auto old = conversations_.put(e.subject, conversation{e.time_ms, -1, false})) {
        ++evicted_;
        if (old->second.asked_ms >= 0)
          --open_;
      }
    } else if (c->asked_ms < 0) { // its answer was folded first
      ++asked_;
      conversation_done(e.subject, e.time_ms, c->answered_ms, c->failed);
    }
  } else if (auto a = std::get_if<events::final_answer_synthesized>(&e.data)) {
    if (finished_.find("c/" + e.subject))
      return;
    auto* c = conversations_.find(e.subject);
    if (!c) {
      if (conversations_.put(e.subject, conversation{-1, e.time_ms, a->failed}))
        ++evicted_; // an evicted entry here had no question either (else it would be paired)
    } else if (c->asked_ms >= 0 && c->answered_ms < 0) {
      --open_;
      conversation_done(e.subject, c->asked_ms, e.time_ms, a->failed);
    }
  } else if (auto r = std::get_if<events::tool_invocation_requested>(&e.data)) {
    if (r->attempt > 1)
      ++retries_;
    if (finished_.find("i/" + r->invocation_id))
      return;
    // The step's latency runs from its first request (a retry is part of it).
    auto* inv = invocations_.find(r->invocation_id);
    if (!inv) {
      if (invocations_.put(r->invocation_id, invocation{r->tool, e.time_ms, -1}))
        ++evicted_;
    } else if (inv->resulted_ms >= 0) { // its final result was folded first
      invocation_done(r->invocation_id, r->tool, e.time_ms, inv->resulted_ms);
    } else if (e.time_ms < inv->requested_ms) {
      inv->requested_ms = e.time_ms;
    }
  } else if (auto r = std::get_if<events::tool_invocation_resulted>(&e.data)) {
    if (!r->ok)
      ++tool_errors_;
    if (!r->ok && r->retryable)
      return; // the step goes on with a retry: only a final result ends it
    if (finished_.find("i/" + r->invocation_id))
      return;
    auto* inv = invocations_.find(r->invocation_id);
    if (!inv) {
      if (invocations_.put(r->invocation_id, invocation{r->tool, -1, e.time_ms}))
        ++evicted_;
    } else if (inv->requested_ms >= 0 && inv->resulted_ms < 0) {
      invocation_done(r->invocation_id, r->tool, inv->requested_ms, e.time_ms);
    }
  }
}

void metrics_fold::dead_letter(const std::string& group) {
  ++dead_letters_[group];
}

void metrics_fold::undecodable(const std::string& topic) {
  ++undecodable_[topic];
}

metrics_report metrics_fold::report() const {
  metrics_report r;
  r.conversations = asked_;
  r.answered = answered_;
  r.failed = failed_;
  r.open = open_;
  r.end_to_end = summarize(end_to_end_);
  for (auto& [tool, s] : tools_)
    r.per_tool[tool] = summarize(s);
  for (auto& [role, s] : roles_)
    r.per_role[role] = summarize(s);
  r.events_by_type = by_type_;
  r.events_by_topic = by_topic_;
  r.dead_letters_by_group = dead_letters_;
  r.undecodable_by_topic = undecodable_;
  r.causes_not_in_view = no_cause_;
  r.tool_errors = tool_errors_;
  r.retries = retries_;
  r.duplicates = duplicates_;
  r.evicted = evicted_;
  r.first_ms = first_ms_;
  r.last_ms = last_ms_;
  auto span_s = static_cast<double>(last_ms_ - first_ms_) / 1000.0;
  r.events_per_second = span_s > 0 ? static_cast<double>(events_) / span_s : 0;
  return r;
}

// -- rates ---------------------------------------------------------------------------------------

void rate_window::add(int64_t now_ms, const std::map<std::string, size_t>& totals) {
  samples_.emplace_back(now_ms, totals);
  if (window_ms_ <= 0)
    return;
  // Keep one sample at or before the window's start, so the rate spans the whole window.
  while (samples_.size() > 1 && samples_[1].first <= now_ms - window_ms_)
    samples_.pop_front();
}

std::map<std::string, double> rate_window::per_second() const {
  std::map<std::string, double> out;
  if (samples_.empty())
    return out;
  const auto& [t1, newest] = samples_.back();
  const auto& [t0, oldest] = samples_.front();
  auto elapsed_s = static_cast<double>(t1 - t0) / 1000.0;
  for (auto& [topic, n] : newest) {
    auto it = oldest.find(topic);
    size_t before = it == oldest.end() ? 0 : it->second;
    out[topic] = elapsed_s > 0 && n > before ? static_cast<double>(n - before) / elapsed_s : 0;
  }
  return out;
}

// -- JSON ----------------------------------------------------------------------------------------

json::document metrics_json(const metrics_report& r, const std::map<std::string, int64_t>& lag,
                            const std::map<std::string, double>& events_per_second_by_topic) {
  json::document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  auto latency = [&](const latency_summary& l) {
    json::value o(rapidjson::kObjectType);
    o.AddMember("count", static_cast<uint64_t>(l.count), a);
    o.AddMember("sumMs", l.sum_ms, a);
    o.AddMember("window", static_cast<uint64_t>(l.window), a);
    o.AddMember("meanMs", l.mean_ms, a);
    o.AddMember("p50Ms", l.p50_ms, a);
    o.AddMember("p95Ms", l.p95_ms, a);
    o.AddMember("p99Ms", l.p99_ms, a);
    o.AddMember("maxMs", l.max_ms, a);
    return o;
  };
  auto latencies = [&](const std::map<std::string, latency_summary>& m) {
    json::value o(rapidjson::kObjectType);
    for (auto& [k, l] : m)
      o.AddMember(json::str(k, a), latency(l), a);
    return o;
  };
  auto counts = [&](const std::map<std::string, size_t>& m) {
    json::value o(rapidjson::kObjectType);
    for (auto& [k, v] : m)
      o.AddMember(json::str(k, a), json::value(static_cast<uint64_t>(v)), a);
    return o;
  };
  d.AddMember("conversations", static_cast<uint64_t>(r.conversations), a);
  d.AddMember("answered", static_cast<uint64_t>(r.answered), a);
  d.AddMember("failed", static_cast<uint64_t>(r.failed), a);
  d.AddMember("open", static_cast<uint64_t>(r.open), a);
  d.AddMember("endToEnd", latency(r.end_to_end), a);
  d.AddMember("tools", latencies(r.per_tool), a);
  d.AddMember("roles", latencies(r.per_role), a);
  d.AddMember("causesNotInView", counts(r.causes_not_in_view), a);
  d.AddMember("eventsByType", counts(r.events_by_type), a);
  d.AddMember("eventsByTopic", counts(r.events_by_topic), a);
  d.AddMember("eventsPerSecond", r.events_per_second, a);
  json::value rates(rapidjson::kObjectType);
  for (auto& [topic, v] : events_per_second_by_topic)
    rates.AddMember(json::str(topic, a), json::value(v), a);
  d.AddMember("eventsPerSecondByTopic", rates, a);
  d.AddMember("toolErrors", static_cast<uint64_t>(r.tool_errors), a);
  d.AddMember("retries", static_cast<uint64_t>(r.retries), a);
  d.AddMember("duplicates", static_cast<uint64_t>(r.duplicates), a);
  d.AddMember("evicted", static_cast<uint64_t>(r.evicted), a);
  d.AddMember("deadLetters", counts(r.dead_letters_by_group), a);
  d.AddMember("undecodable", counts(r.undecodable_by_topic), a);
  json::value lags(rapidjson::kObjectType);
  for (auto& [g, l] : lag)
    lags.AddMember(json::str(g, a), json::value(static_cast<int64_t>(l)), a);
  d.AddMember("consumerLag", lags, a);
  d.AddMember("firstMs", r.first_ms, a);
  d.AddMember("lastMs", r.last_ms, a);
  return d;
}

} // namespace eventide::core
