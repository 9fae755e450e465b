#include "core/prometheus.hpp"

#include <algorithm>
#include <sstream>

#include "core/json.hpp"

namespace eventide::core {
namespace {

// Label values escape backslash, quote and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// GetInt64 on a double (or a uint64 beyond int64) is undefined in RapidJSON: check first.
int64_t number(const json::value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsNumber())
    return 0;
  if (it->value.IsInt64())
    return it->value.GetInt64();
  auto d = it->value.GetDouble();
  return d > -9e18 && d < 9e18 ? static_cast<int64_t>(d) : 0;
}

std::string text(const json::value& o, const char* key) {
  return json::get_string(o, key).value_or("");
}

struct metric {
  std::ostringstream& out;
  metric(std::ostringstream& o, const char* name, const char* type, const char* help) : out(o) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
};

double real(const json::value& o, const char* key) {
  if (auto it = o.FindMember(key); it != o.MemberEnd() && it->value.IsNumber())
    return it->value.GetDouble();
  return 0;
}

std::string member_name(const json::value::ConstMemberIterator& m) {
  return std::string(m->name.GetString(), m->name.GetStringLength());
}

// One sample per member of `o` (an object of numbers), labelled `label_name`="<member>".
void per_member(std::ostringstream& out, const json::value& parent, const char* key,
                const char* name, const char* type, const char* help, const char* label_name) {
  metric(out, name, type, help);
  auto o = parent.FindMember(key);
  if (o == parent.MemberEnd() || !o->value.IsObject())
    return;
  for (auto m = o->value.MemberBegin(); m != o->value.MemberEnd(); ++m)
    if (m->value.IsNumber())
      out << name << "{" << label_name << "=\"" << label(member_name(m)) << "\"} "
          << json::format_number(m->value.GetDouble()) << "\n";
}

// A latency series (core::metrics_json's shape) as a Prometheus summary: quantiles over the
// window of recent samples (NaN while it is empty), _sum and _count over every sample.
void summary_lines(std::ostringstream& out, const char* name, const std::string& labels,
                   const json::value& l) {
  auto window = number(l, "window");
  const std::pair<const char*, const char*> quantiles[] = {
    {"0.5", "p50Ms"}, {"0.95", "p95Ms"}, {"0.99", "p99Ms"}};
  auto sep = labels.empty() ? "" : ",";
  for (auto& [q, key] : quantiles)
    out << name << "{" << labels << sep << "quantile=\"" << q << "\"} "
        << (window > 0 ? json::format_number(real(l, key)) : std::string("NaN")) << "\n";
  auto braces = labels.empty() ? std::string() : "{" + labels + "}";
  out << name << "_sum" << braces << " " << json::format_number(real(l, "sumMs")) << "\n";
  out << name << "_count" << braces << " " << number(l, "count") << "\n";
}

void summaries(std::ostringstream& out, const json::value& m, const char* key, const char* name,
               const char* help, const char* label_name) {
  metric(out, name, "summary", help);
  auto o = m.FindMember(key);
  if (o == m.MemberEnd() || !o->value.IsObject())
    return;
  for (auto s = o->value.MemberBegin(); s != o->value.MemberEnd(); ++s)
    if (s->value.IsObject())
      summary_lines(out, name, std::string(label_name) + "=\"" + label(member_name(s)) + "\"",
                    s->value);
}

// The metrics role's projection of the whole log (node::health()'s "metrics" member). No node
// label: any node projecting the same log reports the same values.
void projection(std::ostringstream& out, const json::value& m) {
  metric(out, "eventide_metrics_projection_live", "gauge",
         "1 once the projection caught up with the log as it was when the role started");
  out << "eventide_metrics_projection_live " << (json::get_bool(m, "live").value_or(false) ? 1 : 0)
      << "\n";
  metric(out, "eventide_conversations", "gauge",
         "conversations by state (answered: a successful answer; failed: a failure explained)");
  out << "eventide_conversations{state=\"answered\"} "
      << std::max<int64_t>(0, number(m, "answered") - number(m, "failed")) << "\n";
  out << "eventide_conversations{state=\"failed\"} " << number(m, "failed") << "\n";
  out << "eventide_conversations{state=\"open\"} " << number(m, "open") << "\n";
  metric(out, "eventide_end_to_end_latency_ms", "summary",
         "UserQueryReceived to FinalAnswerSynthesized (ms)");
  if (auto e = m.FindMember("endToEnd"); e != m.MemberEnd() && e->value.IsObject())
    summary_lines(out, "eventide_end_to_end_latency_ms", "", e->value);
  summaries(out, m, "tools", "eventide_tool_latency_ms",
            "first ToolInvocationRequested to the final ToolInvocationResulted of a step (ms)",
            "tool");
  summaries(out, m, "roles", "eventide_role_processing_ms",
            "time from an event's cause to the event a role produced from it (ms)", "role");
  per_member(out, m, "eventsByTopic", "eventide_events_total", "counter",
             "events in the log per topic (each event id once)", "topic");
  per_member(out, m, "eventsPerSecondByTopic", "eventide_events_per_second", "gauge",
             "events per second per topic over a trailing window", "topic");
  per_member(out, m, "consumerLag", "eventide_consumer_lag", "gauge",
             "high watermark minus committed offset, summed over the group's partitions", "group");
  per_member(out, m, "deadLetters", "eventide_log_dead_letters_total", "counter",
             "dead letters in the log per consumer group that wrote them", "group");
  per_member(out, m, "undecodable", "eventide_undecodable_records_total", "counter",
             "records in the log that are no event (no dead letter on the DLQ topic)", "topic");
  metric(out, "eventide_tool_errors_total", "counter", "ToolInvocationResulted with an error");
  out << "eventide_tool_errors_total " << number(m, "toolErrors") << "\n";
  metric(out, "eventide_step_retries_total", "counter",
         "ToolInvocationRequested beyond a step's first attempt");
  out << "eventide_step_retries_total " << number(m, "retries") << "\n";
  metric(out, "eventide_duplicate_records_total", "counter",
         "records of an event id seen before (redelivery), counted once");
  out << "eventide_duplicate_records_total " << number(m, "duplicates") << "\n";
}

} // namespace

outcome<std::string> prometheus_text(std::string_view health_json) {
  auto doc = json::parse(health_json);
  if (!doc)
    return fail("health: " + doc.error());
  const auto& h = *doc;
  if (!h.IsObject())
    return fail("health: not an object");
  std::ostringstream out;
  auto node = label(text(h, "node"));
  metric(out, "eventide_log_client_error", "gauge",
         "1 while the log client reports an error (e.g. brokers down)");
  out << "eventide_log_client_error{node=\"" << node << "\"} " << (text(h, "logError").empty() ? 0 : 1)
      << "\n";
  if (auto p = h.FindMember("producer"); p != h.MemberEnd() && p->value.IsObject()) {
    metric(out, "eventide_produced_total", "counter", "records the node's producer wrote");
    out << "eventide_produced_total{node=\"" << node << "\"} " << number(p->value, "produced") << "\n";
    metric(out, "eventide_produce_failures_total", "counter", "records the log did not take");
    out << "eventide_produce_failures_total{node=\"" << node << "\"} " << number(p->value, "failed")
        << "\n";
  }
  if (auto b = h.FindMember("bridges"); b != h.MemberEnd() && b->value.IsArray()) {
    struct column {
      const char* name;
      const char* type;
      const char* help;
      const char* key;
    };
    const column columns[] = {
      {"eventide_records_handled_total", "counter", "records a consumer group handled", "handled"},
      {"eventide_dead_letters_total", "counter", "records a consumer group dead-lettered",
       "deadLettered"},
      {"eventide_records_in_flight", "gauge", "records handed to the role, not yet acknowledged",
       "inFlight"},
      {"eventide_assigned_partitions", "gauge", "partitions assigned to the group member",
       "partitions"}};
    for (const auto& c : columns) {
      metric(out, c.name, c.type, c.help);
      for (const auto& br : b->value.GetArray())
        out << c.name << "{node=\"" << node << "\",group=\"" << label(text(br, "group")) << "\"} "
            << number(br, c.key) << "\n";
    }
    metric(out, "eventide_group_live", "gauge", "1 once the group restored and runs live");
    for (const auto& br : b->value.GetArray())
      out << "eventide_group_live{node=\"" << node << "\",group=\"" << label(text(br, "group"))
          << "\"} " << (json::get_bool(br, "live").value_or(false) ? 1 : 0) << "\n";
  }
  if (auto p = h.FindMember("providers"); p != h.MemberEnd() && p->value.IsObject()) {
    const char* counters[][3] = {{"eventide_provider_calls_total", "calls", "provider calls"},
                                 {"eventide_provider_retries_total", "retries", "HTTP retries"},
                                 {"eventide_provider_failures_total", "failures", "failed calls"},
                                 {"eventide_provider_short_circuits_total", "shortCircuits",
                                  "calls refused by an open circuit breaker"}};
    for (auto& c : counters) {
      metric(out, c[0], "counter", c[2]);
      for (const auto& e : p->value.GetObject())
        out << c[0] << "{node=\"" << node << "\",endpoint=\""
            << label(std::string_view(e.name.GetString(), e.name.GetStringLength())) << "\"} "
            << number(e.value, c[1]) << "\n";
    }
    metric(out, "eventide_provider_breaker_open", "gauge",
           "circuit breaker state: 0 closed, 1 open, 0.5 half-open");
    for (const auto& e : p->value.GetObject()) {
      auto state = text(e.value, "breaker");
      out << "eventide_provider_breaker_open{node=\"" << node << "\",endpoint=\""
          << label(std::string_view(e.name.GetString(), e.name.GetStringLength())) << "\"} "
          << (state == "open" ? "1" : state == "half-open" ? "0.5" : "0") << "\n";
    }
  }
  if (auto l = h.FindMember("limits"); l != h.MemberEnd() && l->value.IsObject()) {
    const char* columns[][4] = {
      {"eventide_provider_max_in_flight", "gauge", "configured calls in flight (0: no limit)", "maxInFlight"},
      {"eventide_provider_rate_per_second", "gauge", "configured calls a second (0: no limit)", "ratePerSecond"},
      {"eventide_provider_in_flight", "gauge", "calls in flight now", "inFlight"},
      {"eventide_provider_waiting", "gauge", "calls waiting for a limit now", "waiting"},
      {"eventide_provider_delayed_total", "counter", "calls that waited for a limit", "delayed"},
      {"eventide_provider_waited_ms_total", "counter", "time calls waited for a limit", "waitedMs"}};
    for (auto& c : columns) {
      metric(out, c[0], c[1], c[2]);
      for (const auto& e : l->value.GetObject()) {
        out << c[0] << "{node=\"" << node << "\",provider=\""
            << label(std::string_view(e.name.GetString(), e.name.GetStringLength())) << "\"} ";
        auto v = e.value.FindMember(c[3]);
        if (v != e.value.MemberEnd() && v->value.IsNumber() && !v->value.IsInt64())
          out << json::format_number(v->value.GetDouble()) << "\n"; // a rate: 0.5 a second
        else
          out << number(e.value, c[3]) << "\n";
      }
    }
  }
  if (auto m = h.FindMember("metrics"); m != h.MemberEnd() && m->value.IsObject())
    projection(out, m->value);
  return out.str();
}

} // namespace eventide::core
