// Offline tools that need no network: math, sample weather, dated exchange rates, an honest
// chat reply and the template synthesizer. Data files are read once, when the tool is built.
#include "providers/offline_tools.hpp"
#include "core/text.hpp"
#include "providers/numbers.hpp"
#include "providers/tool_args.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/entity_names.hpp"
#include "core/json.hpp"
#include "core/math.hpp"
#include "providers/synthesis.hpp"

namespace eventide::providers {

using core::lower;
using core::trim;

namespace {

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "config/<file name>": how results cite a bundled data file, independent of the install path.
std::string config_source(const std::string& path) {
  auto slash = path.find_last_of('/');
  return "config/" + (slash == std::string::npos ? path : path.substr(slash + 1));
}

outcome<json::document> load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail("cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = json::parse(buf.str());
  if (!doc)
    return fail(path + ": " + doc.error());
  return std::move(doc).value();
}

// Parses a tool's args; the reason names the tool so a DLQ entry is self-explanatory.
// A number or a numeric string ("1299", " 12.5 "), as placeholders may deliver either.
std::optional<double> number_arg(const json::value& v) {
  if (v.IsNumber())
    return v.GetDouble();
  if (!v.IsString())
    return std::nullopt;
  std::string s = trim(v.GetString());
  if (s.empty())
    return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(d))
    return std::nullopt;
  return d;
}

// --- math -------------------------------------------------------------------------------

class math_tool final : public tool {
 public:
  bool may_block() const override { return false; }
  std::string name() const override { return "math"; }

  tool_output invoke(const std::string& args_json) override {
    auto args = parse_tool_args("math", args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    auto it = args->FindMember("expression");
    if (it == args->MemberEnd())
      return tool_output::permanent_error("math: missing required arg 'expression'");
    // A whole-string placeholder may have turned the expression into a plain number.
    std::string expression = it->value.IsNumber() ? json::format_number(it->value.GetDouble())
                             : it->value.IsString()
                               ? trim({it->value.GetString(), it->value.GetStringLength()})
                                                    : std::string();
    if (expression.empty())
      return tool_output::permanent_error("math: 'expression' must be a non-empty string");
    auto value = core::evaluate(expression);
    if (!value)
      return tool_output::permanent_error("math: cannot evaluate '" + expression + "': " + value.error());
    if (!std::isfinite(*value))
      return tool_output::permanent_error("math: '" + expression + "' has no finite value");
    json::document out(rapidjson::kObjectType);
    set_string(out, "expression", expression);
    set_number(out, "value", *value);
    return tool_output::success(json::dump(out));
  }
};

// --- weather ------------------------------------------------------------------------------

class offline_weather_tool final : public tool {
 public:
  bool may_block() const override { return false; }
  explicit offline_weather_tool(const std::string& file) : source_(config_source(file)) {
    auto doc = load_json_file(file);
    if (!doc) {
      load_error_ = "weather: cannot load sample data " + doc.error();
      return;
    }
    data_ = std::move(doc).value();
    auto* cities = json::find_path(data_, "cities");
    if (!cities || !cities->IsObject() || cities->MemberCount() == 0) {
      load_error_ = "weather: sample data " + file + " has no 'cities' object";
      return;
    }
    label_ = json::get_string(data_, "label").value_or("offline sample data");
    observed_at_ = json::get_string(data_, "observedAt").value_or("");
  }

  std::string name() const override { return "weather"; }

  tool_output invoke(const std::string& args_json) override {
    if (!load_error_.empty())
      return tool_output::permanent_error(load_error_);
    auto args = parse_tool_args("weather", args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    auto city_arg = json::get_string(*args, "city");
    if (!city_arg || trim(*city_arg).empty())
      return tool_output::permanent_error("weather: missing required string arg 'city'");
    std::string wanted = trim(*city_arg);
    const json::value* entry = nullptr;
    std::string city;
    // "Berlin, Germany" is looked up as "Berlin".
    for (const std::string& candidate : {wanted, trim(wanted.substr(0, wanted.find(',')))}) {
      for (auto& m : data_["cities"].GetObject())
        if (lower(m.name.GetString()) == lower(candidate)) {
          entry = &m.value;
          city = m.name.GetString();
        }
      if (entry)
        break;
    }
    if (!entry || !entry->IsObject()) {
      std::vector<std::string> known;
      for (auto& m : data_["cities"].GetObject())
        known.emplace_back(m.name.GetString());
      std::sort(known.begin(), known.end());
      return tool_output::permanent_error("weather: " + core::unknown_name_message("city", wanted, known));
    }
    json::document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    set_string(out, "city", city);
    for (const char* field : {"temperatureC", "condition", "windKph", "humidity"}) {
      auto it = entry->FindMember(field);
      if (it != entry->MemberEnd())
        out.AddMember(json::value(field, a), json::value(it->value, a), a);
    }
    set_string(out, "observedAt", observed_at_);
    // Sample data has no forecasts: echo the requested date so the answer can say so.
    if (auto date = json::get_string(*args, "date"); date && !trim(*date).empty()) {
      set_string(out, "date", trim(*date));
      set_string(out, "note", "sample data has no forecast; showing the sample observation");
    }
    set_string(out, "source", source_);
    out.AddMember("offline", true, a);
    set_string(out, "label", label_);
    return tool_output::success(json::dump(out));
  }

 private:
  std::string source_;
  std::string load_error_;
  json::document data_;
  std::string label_;
  std::string observed_at_;
};

// --- exchange rates -------------------------------------------------------------------------

class offline_exchange_tool final : public tool {
 public:
  bool may_block() const override { return false; }
  explicit offline_exchange_tool(const std::string& file) : source_(config_source(file)) {
    auto doc = load_json_file(file);
    if (!doc) {
      load_error_ = "exchangeRate: cannot load rates " + doc.error();
      return;
    }
    auto base = json::get_string(*doc, "base");
    auto* rates = json::find_path(*doc, "rates");
    date_ = json::get_string(*doc, "date").value_or("");
    if (!base || !rates || !rates->IsObject() || date_.empty()) {
      load_error_ = "exchangeRate: rate table " + file + " needs 'date', 'base' and 'rates'";
      return;
    }
    // The base currency is 1 by definition; known codes keep the file's order after it.
    per_base_.emplace_back(upper(*base), 1.0);
    for (auto& m : rates->GetObject()) {
      if (!m.value.IsNumber() || m.value.GetDouble() <= 0) {
        load_error_ = "exchangeRate: rate table " + file + " has a non-positive rate for "
                      + m.name.GetString();
        return;
      }
      if (upper(m.name.GetString()) != per_base_.front().first)
        per_base_.emplace_back(upper(m.name.GetString()), m.value.GetDouble());
    }
    label_ = json::get_string(*doc, "label").value_or("offline sample rates") + " of " + date_;
  }

  std::string name() const override { return "exchangeRate"; }

  tool_output invoke(const std::string& args_json) override {
    if (!load_error_.empty())
      return tool_output::permanent_error(load_error_);
    auto args = parse_tool_args("exchangeRate", args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    auto from = json::get_string(*args, "from");
    auto to = json::get_string(*args, "to");
    if (!from || trim(*from).empty())
      return tool_output::permanent_error("exchangeRate: missing required string arg 'from'");
    if (!to || trim(*to).empty())
      return tool_output::permanent_error("exchangeRate: missing required string arg 'to'");
    double amount = 1;
    if (auto it = args->FindMember("amount"); it != args->MemberEnd() && !it->value.IsNull()) {
      auto n = number_arg(it->value);
      if (!n || *n < 0)
        return tool_output::permanent_error("exchangeRate: 'amount' must be a non-negative number, got "
                                            + json::to_text(it->value));
      amount = *n;
    }
    auto from_rate = rate_of(upper(trim(*from)));
    if (!from_rate)
      return tool_output::permanent_error(unknown_currency(trim(*from)));
    auto to_rate = rate_of(upper(trim(*to)));
    if (!to_rate)
      return tool_output::permanent_error(unknown_currency(trim(*to)));
    // Cross rate via the base currency; the conversion uses the exact cross rate.
    double exact_rate = *to_rate / *from_rate;
    json::document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    set_string(out, "from", upper(trim(*from)));
    set_string(out, "to", upper(trim(*to)));
    set_number(out, "amount", amount);
    set_number(out, "rate", round_significant(exact_rate, 6));
    set_number(out, "converted", round_to(amount * exact_rate, 2));
    set_string(out, "date", date_);
    set_string(out, "source", source_);
    out.AddMember("offline", true, a);
    set_string(out, "label", label_);
    return tool_output::success(json::dump(out));
  }

 private:
  std::optional<double> rate_of(const std::string& code) const {
    for (auto& [known, rate] : per_base_)
      if (known == code)
        return rate;
    return std::nullopt;
  }

  std::string unknown_currency(const std::string& code) const {
    std::vector<std::string> known;
    for (auto& entry : per_base_)
      known.push_back(entry.first);
    return "exchangeRate: " + core::unknown_name_message("currency", code, known);
  }

  std::string source_;
  std::string load_error_;
  std::string date_;
  std::string label_;
  std::vector<std::pair<std::string, double>> per_base_; // code -> units per 1 base
};

// --- chat ---------------------------------------------------------------------------------

bool starts_with_word(const std::string& text, const std::string& word) {
  if (text.compare(0, word.size(), word) != 0)
    return false;
  return text.size() == word.size() || !std::isalnum(static_cast<unsigned char>(text[word.size()]));
}

class offline_chat_tool final : public tool {
 public:
  bool may_block() const override { return false; }
  std::string name() const override { return "generalChat"; }

  tool_output invoke(const std::string& args_json) override {
    auto args = parse_tool_args("generalChat", args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    auto message = json::get_string(*args, "message");
    if (!message)
      return tool_output::permanent_error("generalChat: missing required string arg 'message'");
    json::document out(rapidjson::kObjectType);
    set_string(out, "answer", reply(*message));
    out.AddMember("offline", true, out.GetAllocator());
    return tool_output::success(json::dump(out));
  }

 private:
  static std::string reply(const std::string& message) {
    // Collapse whitespace so the echo of the topic stays on one line.
    std::string text;
    for (char c : trim(message)) {
      bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
      if (space && (text.empty() || text.back() == ' '))
        continue;
      text += space ? ' ' : c;
    }
    std::string low = lower(text);
    std::string opening;
    if (text.empty()) {
      opening = "Hello!";
    } else if (starts_with_word(low, "thanks") || starts_with_word(low, "thank")) {
      opening = "You're welcome!";
    } else if (starts_with_word(low, "bye") || starts_with_word(low, "goodbye")) {
      opening = "Goodbye!";
    } else {
      bool greeting = false;
      for (const char* g : {"hi", "hello", "hey", "good morning", "good afternoon", "good evening",
                            "greetings", "howdy"})
        greeting = greeting || starts_with_word(low, g);
      if (greeting) {
        opening = "Hello!";
      } else {
        std::string topic = text.size() > 80 ? text.substr(0, 77) + "..." : text;
        opening = "You asked: \"" + topic + "\". I can't answer open-ended questions right now.";
      }
    }
    return opening
           + " I'm Eventide running offline (no LLM is configured), so I answer from bundled "
             "data only. I can look up our products and their prices, compare products, convert "
             "currencies with dated sample rates, report sample weather for major cities, and "
             "do math. Try: \"What does the Aurora X1 cost in euros?\" or \"What's the weather "
             "in Berlin?\"";
  }
};

// --- synthesis ------------------------------------------------------------------------------

class offline_synthesis_tool final : public tool {
 public:
  bool may_block() const override { return false; }
  std::string name() const override { return "orchestrationSynthesis"; }

  tool_output invoke(const std::string& args_json) override {
    auto in = synthesis_input_from_args(args_json);
    if (!in)
      return tool_output::permanent_error(in.error());
    auto syn = synthesize_offline(*in);
    json::document out(rapidjson::kObjectType);
    auto& oa = out.GetAllocator();
    set_string(out, "answer", syn.answer);
    json::value cites(rapidjson::kArrayType);
    for (auto& c : syn.citations)
      cites.PushBack(json::str(c, oa), oa);
    out.AddMember("citations", cites, oa);
    out.AddMember("offline", true, oa);
    return tool_output::success(json::dump(out));
  }
};

} // namespace

std::unique_ptr<tool> make_math_tool() { return std::make_unique<math_tool>(); }

std::unique_ptr<tool> make_offline_weather_tool(const std::string& sample_file) {
  return std::make_unique<offline_weather_tool>(sample_file);
}

std::unique_ptr<tool> make_offline_exchange_tool(const std::string& rates_file) {
  return std::make_unique<offline_exchange_tool>(rates_file);
}

std::unique_ptr<tool> make_offline_chat_tool() { return std::make_unique<offline_chat_tool>(); }

std::unique_ptr<tool> make_offline_synthesis_tool() {
  return std::make_unique<offline_synthesis_tool>();
}

} // namespace eventide::providers
