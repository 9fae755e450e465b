#include "providers/http_tools.hpp"
#include "core/text.hpp"
#include "providers/http.hpp"
#include "providers/numbers.hpp"
#include "providers/tool_args.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

#include "core/entity_names.hpp"
#include "core/json.hpp"
#include "providers/offline_tools.hpp"

namespace eventide::providers {

using core::lower;
using core::trim;

namespace {

struct city {
  const char* name;
  double latitude, longitude;
};

// The cities of config/weather-sample.json, so live and offline modes know the same names.
const city known_cities[] = {
    {"Berlin", 52.52, 13.41},    {"Paris", 48.85, 2.35},         {"London", 51.51, -0.13},
    {"Madrid", 40.42, -3.70},    {"Rome", 41.89, 12.51},         {"Amsterdam", 52.37, 4.89},
    {"Vienna", 48.21, 16.37},    {"Zurich", 47.38, 8.54},        {"Stockholm", 59.33, 18.07},
    {"New York", 40.71, -74.01}, {"San Francisco", 37.77, -122.42}, {"Toronto", 43.65, -79.38},
    {"Tokyo", 35.69, 139.69},    {"Singapore", 1.29, 103.85},    {"Sydney", -33.87, 151.21},
    {"Dubai", 25.20, 55.27},     {"Mumbai", 19.08, 72.88},       {"Beijing", 39.90, 116.41},
};

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string fixed2(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", d);
  return buf;
}

std::optional<double> number_arg(const json::value& v) {
  if (v.IsNumber())
    return v.GetDouble();
  if (!v.IsString())
    return std::nullopt;
  std::string s = trim(v.GetString());
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(d))
    return std::nullopt;
  return d;
}

std::optional<double> number_at(const json::value& root, const char* path) {
  const json::value* v = json::find_path(root, path);
  if (!v || !v->IsNumber())
    return std::nullopt;
  return v->GetDouble();
}

// Base for both tools: args parsing, the HTTP GET, and the labelled offline fallback.
class live_tool : public tool {
 public:
  live_tool(std::string tool_name, std::string circuit_prefix, http_tool_settings settings,
            std::shared_ptr<resilient_http> http, std::unique_ptr<tool> offline)
      : tool_name_(std::move(tool_name)), settings_(std::move(settings)), http_(std::move(http)),
        offline_(std::move(offline)) {
    settings_.url = without_trailing_slash(settings_.url);
    host_ = url_host(settings_.url);
    circuit_key_ = circuit_prefix + "/" + host_;
  }

  std::string name() const override { return tool_name_; }

  tool_output invoke(const std::string& args_json) final {
    try {
      auto args = parse_tool_args(tool_name_, args_json);
      if (!args)
        return tool_output::permanent_error(args.error());
      return run(*args, args_json);
    } catch (const std::exception& e) {
      return tool_output::permanent_error(tool_name_ + " failed: " + e.what());
    }
  }

 protected:
  virtual tool_output run(const json::document& args, const std::string& args_json) = 0;

  // GET {url}{path_and_query}; the parsed JSON object or why the live service failed.
  outcome<json::document> get(const std::string& path_and_query) {
    http_request request;
    request.method = "GET";
    request.url = settings_.url + path_and_query;
    request.headers = {{"Accept", "application/json"}};
    request.connect_timeout_ms = settings_.connect_timeout_ms;
    request.timeout_ms = settings_.timeout_ms;
    auto response = http_->call(circuit_key_, std::move(request));
    if (!response)
      return fail(response.error());
    auto doc = json::parse(response->body);
    if (!doc)
      return fail("reply of " + host_ + " is not JSON: " + doc.error());
    if (!doc->IsObject())
      return fail("reply of " + host_ + " is not a JSON object");
    return std::move(doc).value();
  }

  // The offline answer, labelled with why the live one is missing.
  tool_output fall_back(const std::string& args_json, const std::string& live_failure) {
    if (!offline_)
      return tool_output::transient_error(tool_name_ + ": live service failed: " + live_failure);
    auto out = offline_->invoke(args_json);
    // The offline reason leads: it is usually about the request ("unknown currency 'XYZ'"),
    // which the live service rejected too.
    if (!out.ok)
      return tool_output{false, "null", out.error + " (live service failed: " + live_failure + ")",
                         out.retryable};
    auto doc = json::parse(out.result_json);
    if (!doc || !doc->IsObject())
      return out;
    auto& a = doc->GetAllocator();
    std::string label = "offline sample (live service failed: " + live_failure + ")";
    if (auto it = doc->FindMember("label"); it != doc->MemberEnd())
      it->value = json::str(label, a);
    else
      doc->AddMember("label", json::str(label, a), a);
    return tool_output::success(json::dump(*doc));
  }

  std::string tool_name_;
  http_tool_settings settings_;
  std::shared_ptr<resilient_http> http_;
  std::unique_ptr<tool> offline_;
  std::string host_;
  std::string circuit_key_;
};

class http_weather_tool final : public live_tool {
 public:
  http_weather_tool(http_tool_settings settings, std::shared_ptr<resilient_http> http,
                    std::unique_ptr<tool> offline)
      : live_tool("weather", "weather", std::move(settings), std::move(http), std::move(offline)) {}

 private:
  tool_output run(const json::document& args, const std::string& args_json) override {
    auto city_arg = json::get_string(args, "city");
    if (!city_arg || trim(*city_arg).empty())
      return tool_output::permanent_error("weather: missing required string arg 'city'");
    std::string city;
    double latitude = 0, longitude = 0;
    if (!city_coordinates(trim(*city_arg), city, latitude, longitude)) {
      std::vector<std::string> known;
      for (const auto& c : known_cities)
        known.emplace_back(c.name);
      return tool_output::permanent_error(
          "weather: " + core::unknown_name_message("city", trim(*city_arg), known));
    }
    auto reply = get("/v1/forecast?latitude=" + fixed2(latitude) + "&longitude=" + fixed2(longitude)
                     + "&current=temperature_2m,wind_speed_10m,relative_humidity_2m,weather_code");
    if (!reply)
      return fall_back(args_json, reply.error());
    auto temperature = number_at(*reply, "current.temperature_2m");
    auto wind = number_at(*reply, "current.wind_speed_10m");
    auto humidity = number_at(*reply, "current.relative_humidity_2m");
    auto code = number_at(*reply, "current.weather_code");
    if (!temperature || !wind || !humidity || !code)
      return fall_back(args_json, "reply of " + host_ + " lacks current.temperature_2m, "
                                  "wind_speed_10m, relative_humidity_2m or weather_code");
    // Open-Meteo reports local times without an offset; GMT is its default time zone.
    std::string observed = json::get_string(*json::find_path(*reply, "current"), "time").value_or("");
    auto zone = json::get_string(*reply, "timezone");
    if (!observed.empty() && (!zone || *zone == "GMT" || *zone == "UTC") && observed.back() != 'Z')
      observed += observed.size() == 16 ? ":00Z" : "Z";

    json::document out(rapidjson::kObjectType);
    set_string(out, "city", city);
    set_number(out, "temperatureC", *temperature);
    set_string(out, "condition", weather_condition(static_cast<int>(*code)));
    set_number(out, "windKph", *wind);
    set_number(out, "humidity", *humidity);
    set_number(out, "weatherCode", *code);
    set_string(out, "observedAt", observed);
    if (auto date = json::get_string(args, "date"); date && !trim(*date).empty()) {
      set_string(out, "date", trim(*date));
      set_string(out, "note", "the live service reports current conditions, not forecasts by date");
    }
    set_string(out, "source", host_);
    out.AddMember("offline", false, out.GetAllocator());
    return tool_output::success(json::dump(out));
  }
};

bool currency_code(const std::string& s) {
  return s.size() == 3 && std::isalpha(static_cast<unsigned char>(s[0]))
         && std::isalpha(static_cast<unsigned char>(s[1]))
         && std::isalpha(static_cast<unsigned char>(s[2]));
}

class http_exchange_tool final : public live_tool {
 public:
  http_exchange_tool(http_tool_settings settings, std::shared_ptr<resilient_http> http,
                     std::unique_ptr<tool> offline)
      : live_tool("exchangeRate", "exchange", std::move(settings), std::move(http),
                  std::move(offline)) {}

 private:
  tool_output run(const json::document& args, const std::string& args_json) override {
    auto from_arg = json::get_string(args, "from");
    auto to_arg = json::get_string(args, "to");
    if (!from_arg || trim(*from_arg).empty())
      return tool_output::permanent_error("exchangeRate: missing required string arg 'from'");
    if (!to_arg || trim(*to_arg).empty())
      return tool_output::permanent_error("exchangeRate: missing required string arg 'to'");
    std::string from = upper(trim(*from_arg)), to = upper(trim(*to_arg));
    // Not a code ("doubloons"), so never sent: the offline table decides, and when it does not
    // know the currency either it says so and names the codes it knows.
    for (const auto* code : {&from, &to})
      if (!currency_code(*code))
        return offline_ ? offline_->invoke(args_json)
                        : tool_output::permanent_error("exchangeRate: unknown currency '" + *code + "'");
    double amount = 1;
    if (auto it = args.FindMember("amount"); it != args.MemberEnd() && !it->value.IsNull()) {
      auto n = number_arg(it->value);
      if (!n || *n < 0)
        return tool_output::permanent_error("exchangeRate: 'amount' must be a non-negative number, got "
                                            + json::to_text(it->value));
      amount = *n;
    }
    // Frankfurter multiplies the rates by `amount`; 1 and 0 ask for the plain rate.
    bool send_amount = amount != 1 && amount > 0;
    std::string query = "/latest?from=" + url_encode(from) + "&to=" + url_encode(to);
    if (send_amount)
      query += "&amount=" + json::format_number(amount);
    auto reply = get(query);
    if (!reply)
      return fall_back(args_json, reply.error());
    std::optional<double> quoted;
    if (auto* rates = json::find_path(*reply, "rates"); rates && rates->IsObject())
      quoted = number_at(*rates, to.c_str());
    auto date = json::get_string(*reply, "date");
    if (!quoted || *quoted < 0 || !date)
      return fall_back(args_json, "reply of " + host_ + " lacks rates." + to + " or date");
    double rate = send_amount ? *quoted / amount : *quoted;
    double converted = send_amount ? *quoted : amount * rate;

    json::document out(rapidjson::kObjectType);
    set_string(out, "from", from);
    set_string(out, "to", to);
    set_number(out, "amount", amount);
    set_number(out, "rate", round_significant(rate, 6));
    set_number(out, "converted", round_to(converted, 2));
    set_string(out, "date", *date);
    set_string(out, "source", host_);
    out.AddMember("offline", false, out.GetAllocator());
    return tool_output::success(json::dump(out));
  }
};

} // namespace

bool city_coordinates(const std::string& wanted, std::string& canonical, double& latitude,
                      double& longitude) {
  std::string name = trim(wanted);
  for (const std::string& candidate : {name, trim(name.substr(0, name.find(',')))})
    for (const auto& c : known_cities)
      if (lower(c.name) == lower(candidate)) {
        canonical = c.name;
        latitude = c.latitude;
        longitude = c.longitude;
        return true;
      }
  return false;
}

std::string weather_condition(int code) {
  switch (code) {
    case 0: return "clear sky";
    case 1: return "mainly clear";
    case 2: return "partly cloudy";
    case 3: return "overcast";
    case 45: return "fog";
    case 48: return "depositing rime fog";
    case 51: return "light drizzle";
    case 53: return "moderate drizzle";
    case 55: return "dense drizzle";
    case 56: case 57: return "freezing drizzle";
    case 61: return "light rain";
    case 63: return "moderate rain";
    case 65: return "heavy rain";
    case 66: case 67: return "freezing rain";
    case 71: return "light snow";
    case 73: return "moderate snow";
    case 75: return "heavy snow";
    case 77: return "snow grains";
    case 80: return "light rain showers";
    case 81: return "moderate rain showers";
    case 82: return "violent rain showers";
    case 85: case 86: return "snow showers";
    case 95: return "thunderstorm";
    case 96: case 99: return "thunderstorm with hail";
    default: return "unknown (code " + std::to_string(code) + ")";
  }
}

std::unique_ptr<tool> make_http_weather_tool(http_tool_settings settings,
                                             std::shared_ptr<resilient_http> http,
                                             std::unique_ptr<tool> offline_fallback) {
  return std::make_unique<http_weather_tool>(std::move(settings), std::move(http),
                                             std::move(offline_fallback));
}

std::unique_ptr<tool> make_http_exchange_tool(http_tool_settings settings,
                                              std::shared_ptr<resilient_http> http,
                                              std::unique_ptr<tool> offline_fallback) {
  return std::make_unique<http_exchange_tool>(std::move(settings), std::move(http),
                                              std::move(offline_fallback));
}

std::unique_ptr<tool> make_weather_tool(const provider_runtime& runtime, std::string sample_file) {
  if (sample_file.empty())
    sample_file = resource_root() + "/config/weather-sample.json";
  auto offline = make_offline_weather_tool(sample_file);
  if (runtime.config.tools_mode != "http")
    return offline;
  return make_http_weather_tool({runtime.config.weather_url, runtime.config.connect_timeout_ms,
                                 runtime.config.tools_timeout_ms},
                                runtime.http, std::move(offline));
}

std::unique_ptr<tool> make_exchange_tool(const provider_runtime& runtime, std::string rates_file) {
  if (rates_file.empty())
    rates_file = resource_root() + "/config/exchange-rates.json";
  auto offline = make_offline_exchange_tool(rates_file);
  if (runtime.config.tools_mode != "http")
    return offline;
  return make_http_exchange_tool({runtime.config.exchange_url, runtime.config.connect_timeout_ms,
                                  runtime.config.tools_timeout_ms},
                                 runtime.http, std::move(offline));
}

} // namespace eventide::providers
