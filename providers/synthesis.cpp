// The offline synthesizer: turns step results into a template answer. The first line answers
// the question (from the plan's final steps), then one detail line per step with its source, so
// every number in the answer can be traced to a tool result and a data file.
#include "providers/synthesis.hpp"

#include "providers/numbers.hpp"
#include "providers/tool_args.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <regex>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "core/text.hpp"

namespace eventide::providers {

namespace {

enum class kind { product, rag, chat, math, weather, exchange, synthesis, shop, other };

kind kind_of_tool(const std::string& tool) {
  if (tool == "getProductInformation") return kind::product;
  if (tool == "ragGeneration") return kind::rag;
  if (tool == "generalChat") return kind::chat;
  if (tool == "math") return kind::math;
  if (tool == "weather") return kind::weather;
  if (tool == "exchangeRate") return kind::exchange;
  if (tool == "orchestrationSynthesis") return kind::synthesis;
  if (const auto* t = core::find_tool(tool); t && t->effect) return kind::shop;
  return kind::other;
}

bool has(const json::value& v, const char* member) { return v.IsObject() && v.HasMember(member); }

// Without a plan (the synthesis tool) the kind is recognized from the result's fields.
kind kind_of_result(const json::value& r) {
  if (has(r, "converted") && has(r, "rate")) return kind::exchange;
  if (has(r, "temperatureC")) return kind::weather;
  if (has(r, "expression") && has(r, "value")) return kind::math;
  if (has(r, "name") && (has(r, "price") || has(r, "chunks"))) return kind::product;
  if (has(r, "answer") && has(r, "citations")) return kind::rag;
  if (has(r, "answer")) return kind::chat;
  return kind::other;
}

const char* default_tool_name(kind k) {
  switch (k) {
    case kind::product: return "getProductInformation";
    case kind::rag: return "ragGeneration";
    case kind::chat: return "generalChat";
    case kind::math: return "math";
    case kind::weather: return "weather";
    case kind::exchange: return "exchangeRate";
    case kind::synthesis: return "orchestrationSynthesis";
    case kind::shop:
    case kind::other: break;
  }
  return "result";
}

std::string text_of(const json::value& r, const char* member) {
  if (!r.IsObject())
    return {};
  auto it = r.FindMember(member);
  return it == r.MemberEnd() ? std::string() : json::to_text(it->value);
}

std::optional<double> number_of(const json::value& r, const char* member) {
  if (!r.IsObject())
    return std::nullopt;
  auto it = r.FindMember(member);
  if (it == r.MemberEnd())
    return std::nullopt;
  if (it->value.IsNumber())
    return it->value.GetDouble();
  if (it->value.IsString()) {
    char* end = nullptr;
    double d = std::strtod(it->value.GetString(), &end);
    if (end != it->value.GetString() && *end == '\0')
      return d;
  }
  return std::nullopt;
}


std::string money_of(const json::value& r, const char* member) {
  auto n = number_of(r, member);
  return n ? format_money(*n) : text_of(r, member);
}

using core::one_line;

std::string first_line(const std::string& s) { return one_line(s.substr(0, s.find('\n'))); }

std::string shorten(const std::string& s, size_t max) {
  return s.size() <= max ? s : s.substr(0, max - 3) + "...";
}

std::string sentence(std::string s) {
  if (!s.empty() && s.back() != '.' && s.back() != '!' && s.back() != '?')
    s += '.';
  return s;
}

// "(offline sample rates of 2026-11-02, config/exchange-rates.json)" or "(source: x)".
std::string provenance(const json::value& r, kind k) {
  std::string label = text_of(r, "label");
  std::string source = text_of(r, "source");
  if (k == kind::weather && !label.empty() && !text_of(r, "observedAt").empty())
    label += " of " + text_of(r, "observedAt");
  if (!label.empty() && !source.empty())
    return " (" + label + ", " + source + ")";
  if (!label.empty())
    return " (" + label + ")";
  if (!source.empty())
    return " (source: " + source + ")";
  return {};
}

std::vector<std::string> citations_of(const json::value& r) {
  std::vector<std::string> out;
  if (!r.IsObject())
    return out;
  if (auto s = json::get_string(r, "source"); s && !s->empty())
    out.push_back(*s);
  if (auto it = r.FindMember("citations"); it != r.MemberEnd() && it->value.IsArray())
    for (auto& c : it->value.GetArray())
      if (c.IsString() && c.GetStringLength() > 0)
        out.emplace_back(c.GetString());
  return out;
}

struct step_view {
  std::string id;
  std::string tool;
  kind k = kind::other;
  std::vector<std::string> depends_on;
  const json::value* result = nullptr; // null when the step produced nothing
  std::string args_json;               // as planned, placeholders unresolved ("" when unknown)
};

struct view {
  std::vector<step_view> steps;

  const step_view* find(const std::string& id) const {
    for (auto& s : steps)
      if (s.id == id)
        return &s;
    return nullptr;
  }

  // The product a step's value derives from (exchange of a product price), if any.
  const step_view* product_source(const step_view& s) const {
    for (auto& dep : s.depends_on)
      if (auto* d = find(dep); d && d->result && d->k == kind::product)
        return d;
    return nullptr;
  }

  // The single currency of a math step's inputs (price or converted amount), if they agree.
  std::string currency_of_inputs(const step_view& s) const {
    std::string currency;
    for (auto& dep : s.depends_on) {
      auto* d = find(dep);
      if (!d || !d->result)
        continue;
      std::string c = d->k == kind::product ? text_of(*d->result, "currency")
                      : d->k == kind::exchange ? text_of(*d->result, "to")
                      : d->k == kind::math ? currency_of_inputs(*d)
                                           : std::string();
      if (c.empty())
        continue;
      if (!currency.empty() && currency != c)
        return {};
      currency = c;
    }
    return currency;
  }
};

// A price gap ("{{steps.a.result.price}} - {{steps.b.result.converted}}", each side a product's
// price, converted or not) answered by saying which product costs more, or nullopt for other
// math: "The Nimbus Pro costs 550 USD more than the Aurora X1 (1849 - 1299)."
std::optional<std::string> price_gap_answer(const view& v, const step_view& s) {
  auto args = json::parse(s.args_json);
  if (!args || !args->IsObject())
    return std::nullopt;
  static const std::regex gap(
      R"(^\s*\{\{\s*steps\.([A-Za-z0-9_-]+)\.result\.[A-Za-z]+\s*\}\}\s*-\s*)"
      R"(\{\{\s*steps\.([A-Za-z0-9_-]+)\.result\.[A-Za-z]+\s*\}\}\s*$)");
  std::smatch m;
  std::string expression = text_of(*args, "expression");
  if (!std::regex_match(expression, m, gap))
    return std::nullopt;
  auto product_of = [&](const std::string& id) -> std::string {
    const step_view* d = v.find(id);
    if (d && d->result && d->k == kind::exchange)
      d = v.product_source(*d);
    return d && d->result && d->k == kind::product ? text_of(*d->result, "name") : std::string();
  };
  std::string first = product_of(m.str(1)), second = product_of(m.str(2));
  std::string currency = v.currency_of_inputs(s);
  auto value = number_of(*s.result, "value");
  if (first.empty() || second.empty() || first == second || currency.empty() || !value)
    return std::nullopt;
  std::string how = " (" + text_of(*s.result, "expression") + ").";
  if (*value == 0)
    return "The " + first + " and the " + second + " cost the same" + how;
  // In the order of the expression, which is the order of the question.
  return "The " + first + " costs " + format_money(std::fabs(*value)) + " " + currency
         + (*value > 0 ? " more" : " less") + " than the " + second + how;
}

// What a shop tool did, from the shop's answer (docs/shop-api.md): "ordered 2 x Tidal Buds
// (order o-1, 258.00 GBP)". Lower case: it is listed after "Done:" or "Undone:".
std::string shop_effect(const std::string& tool, const json::value& r) {
  auto id = [&](const char* field) { return text_of(r, field); };
  if (tool == "placeOrder")
    return "ordered " + text_of(r, "quantity") + " x " + text_of(r, "name") + " (order "
           + id("orderId") + ", " + money_of(r, "total") + " " + text_of(r, "currency") + ")";
  if (tool == "chargePayment")
    return "charged " + money_of(r, "amount") + " " + text_of(r, "currency") + " (payment "
           + id("paymentId") + ")";
  if (tool == "shipOrder")
    return "booked shipping of order " + id("orderId") + " to " + text_of(r, "city")
           + " (shipment " + id("shipmentId") + ")";
  if (tool == "cancelOrder")
    return "cancelled order " + id("orderId") + " (items back in stock)";
  if (tool == "refundPayment")
    return "refunded payment " + id("paymentId") + " (" + money_of(r, "amount") + " "
           + text_of(r, "currency") + ")";
  if (tool == "cancelShipment")
    return "cancelled shipment " + id("shipmentId");
  return tool + " " + shorten(one_line(json::to_text(r)), 120);
}

// The saga's entries (PlanCompensated / CompensationFailed) as "Undone: ...; Not undone: ...".
std::string saga_sentences(const std::string& compensations_json) {
  auto doc = json::parse(compensations_json);
  if (!doc || !doc->IsArray() || doc->Empty())
    return {};
  std::string undone, left;
  for (const auto& c : doc->GetArray()) {
    auto field = [&](const char* k) { return json::get_string(c, k).value_or(""); };
    auto status = field("status");
    if (status == "done") {
      auto it = c.FindMember("result");
      undone += (undone.empty() ? "" : "; ")
                + (it != c.MemberEnd() ? shop_effect(field("compensation"), it->value)
                                       : field("compensation") + " of " + field("stepId"));
    } else {
      std::string why = status == "failed"    ? "its " + field("compensation") + " failed: " + field("error")
                        : status == "unknown" ? field("error")
                                              : "not tried after an earlier compensation failed";
      left += (left.empty() ? "" : "; ") + field("stepId") + " (" + field("tool") + "): " + why;
    }
  }
  std::string out;
  if (!undone.empty())
    out += " Undone: " + undone + ".";
  if (!left.empty())
    out += " Not undone: " + left + " (`eventide compensations` lists it for an operator).";
  return out;
}

// The direct answer a step's result gives, as one sentence.
std::string direct_answer(const view& v, const step_view& s) {
  const json::value& r = *s.result;
  switch (s.k) {
    case kind::product:
      return "The " + text_of(r, "name") + " costs " + money_of(r, "price") + " "
             + text_of(r, "currency") + ".";
    case kind::exchange: {
      std::string converted = money_of(r, "converted") + " " + text_of(r, "to");
      std::string original = money_of(r, "amount") + " " + text_of(r, "from");
      if (auto* p = v.product_source(s))
        return "The " + text_of(*p->result, "name") + " costs " + converted + " (" + original
               + " at " + text_of(r, "rate") + ").";
      return original + " = " + converted + " (rate " + text_of(r, "rate") + ").";
    }
    case kind::math: {
      if (auto gap = price_gap_answer(v, s))
        return *gap;
      std::string currency = v.currency_of_inputs(s);
      std::string value = currency.empty() ? text_of(r, "value")
                                           : money_of(r, "value") + " " + currency;
      return "The answer is " + value + " (" + text_of(r, "expression") + ").";
    }
    case kind::weather: {
      std::string out = text_of(r, "city") + ": " + text_of(r, "temperatureC") + " °C, "
                        + text_of(r, "condition");
      if (has(r, "windKph"))
        out += ", wind " + text_of(r, "windKph") + " km/h";
      if (has(r, "humidity"))
        out += ", humidity " + text_of(r, "humidity") + "%";
      if (has(r, "date") && has(r, "note"))
        out += " (sample observation; no forecast for " + text_of(r, "date") + ")";
      return out + ".";
    }
    case kind::rag:
    case kind::chat:
      return sentence(one_line(text_of(r, "answer")));
    case kind::synthesis:
      return sentence(first_line(text_of(r, "answer")));
    case kind::shop: {
      auto done = shop_effect(s.tool, r);
      done[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(done[0])));
      return done + ".";
    }
    case kind::other:
      break;
  }
  return s.id + ": " + shorten(one_line(json::to_text(r)), 160) + ".";
}

// One detail line: the step, its key result and where that came from.
std::string detail_line(const view& v, const step_view& s) {
  std::string head = "- " + s.id + " " + s.tool + ": ";
  if (!s.result)
    return head + "failed";
  const json::value& r = *s.result;
  switch (s.k) {
    case kind::product:
      return head + text_of(r, "name") + " costs " + money_of(r, "price") + " "
             + text_of(r, "currency") + provenance(r, s.k);
    case kind::exchange:
      return head + money_of(r, "amount") + " " + text_of(r, "from") + " = "
             + money_of(r, "converted") + " " + text_of(r, "to") + " at " + text_of(r, "rate")
             + provenance(r, s.k);
    case kind::math: {
      bool is_money = !v.currency_of_inputs(s).empty();
      return head + text_of(r, "expression") + " = "
             + (is_money ? money_of(r, "value") : text_of(r, "value"));
    }
    case kind::weather:
      return head + text_of(r, "city") + " " + text_of(r, "temperatureC") + " °C, "
             + text_of(r, "condition") + provenance(r, s.k);
    case kind::rag: {
      std::string line = head + "\"" + shorten(one_line(text_of(r, "answer")), 120) + "\"";
      auto cites = citations_of(r);
      if (!cites.empty()) {
        line += " (sources: ";
        for (size_t i = 0; i < cites.size(); ++i)
          line += (i ? ", " : "") + cites[i];
        line += ")";
      }
      return line;
    }
    case kind::chat:
      return head + "\"" + shorten(one_line(text_of(r, "answer")), 120) + "\"";
    case kind::synthesis:
      return head + "\"" + shorten(first_line(text_of(r, "answer")), 120) + "\"";
    case kind::shop:
      return head + shop_effect(s.tool, r) + provenance(r, s.k);
    case kind::other:
      break;
  }
  return head + shorten(one_line(json::to_text(r)), 160);
}

} // namespace

synthesis_output synthesize_offline(const synthesis_input& in) {
  synthesis_output out;
  json::document results(rapidjson::kObjectType);
  if (auto parsed = json::parse(in.results_json); parsed && parsed->IsObject())
    results = std::move(parsed).value();

  auto result_of = [&](const std::string& id) -> const json::value* {
    auto it = results.FindMember(id.c_str());
    return it == results.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
  };

  // Steps in plan order when the plan is valid; otherwise (or for the synthesis tool) in the
  // order of the results object. Results of steps the plan does not name are kept at the end.
  view v;
  bool have_plan = false;
  if (auto p = core::parse_plan(in.plan_json); p) {
    have_plan = true;
    for (auto& ps : p->steps) {
      step_view s{ps.id, ps.tool, kind_of_tool(ps.tool), ps.depends_on, result_of(ps.id), ps.args_json};
      if (s.k == kind::other && s.result)
        s.k = kind_of_result(*s.result);
      v.steps.push_back(std::move(s));
    }
  }
  for (auto& m : results.GetObject()) {
    std::string id = m.name.GetString();
    if (v.find(id) || m.value.IsNull())
      continue;
    kind k = kind_of_result(m.value);
    v.steps.push_back({id, default_tool_name(k), k, {}, &m.value, ""});
  }

  // The direct answer comes from the final results: those no other result builds on.
  std::vector<const step_view*> finals;
  for (auto& s : v.steps) {
    if (!s.result)
      continue;
    bool used = false;
    for (auto& other : v.steps)
      used = used || (other.result && std::count(other.depends_on.begin(), other.depends_on.end(), s.id) > 0);
    if (!used || !have_plan)
      finals.push_back(&s);
  }

  // Everything the shop did is the answer to an order, not only its last step.
  std::vector<std::string> effects;
  for (auto& s : v.steps)
    if (s.k == kind::shop && s.result)
      effects.push_back(shop_effect(s.tool, *s.result));
  std::string answer;
  if (!in.failure.empty()) {
    answer = "I could not complete this request: " + in.failure;
    if (!in.compensations_json.empty())
      answer = sentence(answer);
    if (!effects.empty() && !in.compensations_json.empty()) {
      answer += " Done before that:";
      for (size_t i = 0; i < effects.size(); ++i)
        answer += (i ? "; " : " ") + effects[i];
      answer += ".";
    }
    answer += saga_sentences(in.compensations_json);
  } else if (!effects.empty()) {
    // The choice that picked what was ordered comes first ("The Aurora X1 is cheaper: ...").
    if (!in.decisions.empty()) {
      answer = sentence(one_line(in.decisions.back())) + " ";
      answer[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(answer[0])));
    }
    answer += "Done:";
    for (size_t i = 0; i < effects.size(); ++i)
      answer += (i ? "; " : " ") + effects[i];
    answer += ".";
  } else if (finals.empty()) {
    answer = "I have no results to answer \"" + one_line(in.query) + "\".";
  } else {
    // The decision that ended the turn's agent loop comes first ("The Aurora X1 is cheaper:
    // ..."), then what was found for it.
    if (!in.decisions.empty()) {
      answer = sentence(one_line(in.decisions.back()));
      answer[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(answer[0])));
    }
    for (auto* s : finals)
      answer += (answer.empty() ? "" : " ") + direct_answer(v, *s);
  }

  std::vector<std::string> lines;
  bool any_sample = false; // a result from bundled sample data ("offline": true)
  bool any_other = false;  // a result from a live service, an LLM or an unknown source
  bool any_llm = false;
  for (auto& s : v.steps) {
    if (s.result) {
      lines.push_back(detail_line(v, s));
      // Arithmetic is computed here, online or not: it neither makes an answer offline nor
      // keeps it from being offline.
      if (s.k != kind::math) {
        bool offline = json::get_bool(*s.result, "offline").value_or(false);
        any_sample = any_sample || offline;
        any_other = any_other || !offline;
      }
      std::string provider = text_of(*s.result, "provider");
      any_llm = any_llm || (!provider.empty() && provider != "offline");
      for (auto& c : citations_of(*s.result))
        if (std::find(out.citations.begin(), out.citations.end(), c) == out.citations.end())
          out.citations.push_back(c);
    } else if (!in.failed_step.empty() && s.id == in.failed_step) {
      lines.push_back(detail_line(v, s));
    }
  }
  if (!lines.empty()) {
    answer += "\nDetails:";
    for (auto& l : lines)
      answer += "\n" + l;
  }
  // This template never calls an LLM; a failure that names a live service did use one.
  any_other = any_other || in.failure.find("live service") != std::string::npos;
  if (!any_other && any_sample)
    answer += "\nNote: answered offline with sample data; no LLM or live service was used.";
  else if (!any_other)
    answer += "\nNote: answered offline; no LLM or live service was used.";
  else if (any_sample)
    answer += any_llm ? "\nNote: some results are offline sample data."
                      : "\nNote: some results are offline sample data; no LLM was used.";
  out.answer = std::move(answer);
  return out;
}

outcome<synthesis_input> synthesis_input_from_args(const std::string& args_json) {
  auto args = parse_tool_args("orchestrationSynthesis", args_json);
  if (!args)
    return std::move(args).take_failure();
  auto query = json::get_string(*args, "query");
  if (!query)
    return fail("orchestrationSynthesis: missing required string arg 'query'");
  json::document results(rapidjson::kObjectType);
  auto& a = results.GetAllocator();
  if (auto it = args->FindMember("results"); it != args->MemberEnd()) {
    if (it->value.IsArray()) {
      int n = 0;
      for (auto& r : it->value.GetArray())
        results.AddMember(json::str("r" + std::to_string(++n), a), json::value(r, a), a);
    } else if (it->value.IsObject()) {
      results.CopyFrom(it->value, a);
    } else if (!it->value.IsNull()) {
      results.AddMember("r1", json::value(it->value, a), a);
    }
  }
  synthesis_input in;
  in.query = *query;
  in.plan_json = "null";
  in.results_json = json::dump(results);
  return in;
}

} // namespace eventide::providers
