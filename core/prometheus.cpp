#include "core/prometheus.hpp"

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

int64_t number(const json::value& o, const char* key) {
  if (auto it = o.FindMember(key); it != o.MemberEnd() && it->value.IsNumber())
    return it->value.GetInt64();
  return 0;
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
  return out.str();
}

} // namespace eventide::core
