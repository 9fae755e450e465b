// Offline tools: exact numbers from the bundled sample data, labels and error reasons.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "providers/offline_tools.hpp"

using namespace eventide;
using namespace eventide::providers;

namespace {

const std::string root = EVENTIDE_SOURCE_DIR;
const std::string rates_file = root + "/config/exchange-rates.json";
const std::string weather_file = root + "/config/weather-sample.json";

json::document ok_result(tool& t, const std::string& args) {
  auto out = t.invoke(args);
  INFO(args << " -> " << out.error);
  REQUIRE(out.ok);
  auto doc = json::parse(out.result_json);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string permanent_error(tool& t, const std::string& args) {
  auto out = t.invoke(args);
  INFO(args << " -> " << out.result_json);
  REQUIRE_FALSE(out.ok);
  CHECK_FALSE(out.retryable);
  return out.error;
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("eventide-offline-tools-" + name);
  std::ofstream(path) << text;
  return path.string();
}

} // namespace

TEST_CASE("exchange: 1299 USD to EUR with the sample table", "[offline_tools]") {
  auto t = make_offline_exchange_tool(rates_file);
  CHECK(t->name() == "exchangeRate");
  auto r = ok_result(*t, R"({"from":"USD","to":"EUR","amount":1299})");
  CHECK(*json::get_string(r, "from") == "USD");
  CHECK(*json::get_string(r, "to") == "EUR");
  CHECK(*json::get_number(r, "amount") == 1299);
  CHECK(*json::get_number(r, "rate") == 0.919963);      // 1 / 1.0870, 6 significant digits
  CHECK(*json::get_number(r, "converted") == 1195.03);  // 1299 / 1.0870 = 1195.0322
  CHECK(*json::get_string(r, "date") == "2026-11-02");
  CHECK(*json::get_string(r, "source") == "config/exchange-rates.json");
  CHECK(*json::get_bool(r, "offline"));
  CHECK(*json::get_string(r, "label") == "offline sample rates of 2026-11-02");
}

TEST_CASE("exchange: cross rates via EUR, codes case-insensitive, amount forms", "[offline_tools]") {
  auto t = make_offline_exchange_tool(rates_file);
  auto gbp_usd = ok_result(*t, R"({"from":"gbp","to":"Usd","amount":"250"})");
  CHECK(*json::get_string(gbp_usd, "from") == "GBP");
  CHECK(*json::get_string(gbp_usd, "to") == "USD");
  CHECK(*json::get_number(gbp_usd, "rate") == 1.25665);     // 1.0870 / 0.8650
  CHECK(*json::get_number(gbp_usd, "converted") == 314.16); // 250 * 1.256647

  auto usd_jpy = ok_result(*t, R"({"from":"USD","to":"JPY","amount":100})");
  CHECK(*json::get_number(usd_jpy, "rate") == 149.448);       // 162.45 / 1.0870
  CHECK(*json::get_number(usd_jpy, "converted") == 14944.8);

  auto default_amount = ok_result(*t, R"({"from":"EUR","to":"GBP"})");
  CHECK(*json::get_number(default_amount, "amount") == 1);
  CHECK(*json::get_number(default_amount, "rate") == 0.865);
  CHECK(*json::get_number(default_amount, "converted") == 0.87);

  auto same = ok_result(*t, R"({"from":"CHF","to":"chf","amount":12.5})");
  CHECK(*json::get_number(same, "rate") == 1);
  CHECK(*json::get_number(same, "converted") == 12.5);
}

TEST_CASE("exchange: bad arguments are permanent errors with reasons", "[offline_tools]") {
  auto t = make_offline_exchange_tool(rates_file);
  // Unknown currencies are named, with every known code or, when some are close, the nearest.
  CHECK(permanent_error(*t, R"({"from":"XYZ","to":"EUR"})")
        == "exchangeRate: unknown currency 'XYZ'; known: EUR, USD, GBP, JPY, CHF, CAD, AUD, CNY, "
           "INR, SEK, NOK, DKK, PLN, NZD, SGD, HKD, KRW, MXN, BRL, ZAR");
  CHECK(permanent_error(*t, R"({"from":"USD","to":"doubloons","amount":100})")
        == "exchangeRate: unknown currency 'doubloons'; known: EUR, USD, GBP, JPY, CHF, CAD, AUD, "
           "CNY, INR, SEK, NOK, DKK, PLN, NZD, SGD, HKD, KRW, MXN, BRL, ZAR");
  CHECK(permanent_error(*t, R"({"from":"USD","to":"EUX"})")
        == "exchangeRate: unknown currency 'EUX'; nearest known: EUR");
  CHECK(permanent_error(*t, R"({"from":"USD","to":"euros"})")
            .find("unknown currency 'euros'") != std::string::npos);
  CHECK(permanent_error(*t, R"({"to":"EUR"})") == "exchangeRate: missing required string arg 'from'");
  CHECK(permanent_error(*t, R"({"from":"USD"})") == "exchangeRate: missing required string arg 'to'");
  CHECK(permanent_error(*t, R"({"from":"USD","to":"EUR","amount":"lots"})")
        == "exchangeRate: 'amount' must be a non-negative number, got lots");
  CHECK(permanent_error(*t, R"({"from":"USD","to":"EUR","amount":-5})")
        == "exchangeRate: 'amount' must be a non-negative number, got -5");
  CHECK(permanent_error(*t, "[1,2]") == "exchangeRate: args must be a JSON object");
  CHECK(permanent_error(*t, "{oops").rfind("exchangeRate: args are not JSON", 0) == 0);
}

TEST_CASE("exchange: a missing or malformed table fails every call naming the file", "[offline_tools]") {
  auto missing = make_offline_exchange_tool("/nonexistent/rates.json");
  auto why = permanent_error(*missing, R"({"from":"USD","to":"EUR"})");
  CHECK(why == "exchangeRate: cannot load rates cannot read /nonexistent/rates.json");

  auto broken_path = write_temp("rates-broken.json", "{\"date\": \"2026-11-02\", ");
  auto broken = make_offline_exchange_tool(broken_path);
  CHECK(permanent_error(*broken, R"({"from":"USD","to":"EUR"})").find(broken_path) != std::string::npos);

  auto no_rates_path = write_temp("rates-empty.json", R"({"date":"2026-11-02","base":"EUR"})");
  auto no_rates = make_offline_exchange_tool(no_rates_path);
  CHECK(permanent_error(*no_rates, R"({"from":"USD","to":"EUR"})")
        == "exchangeRate: rate table " + no_rates_path + " needs 'date', 'base' and 'rates'");
  std::remove(broken_path.c_str());
  std::remove(no_rates_path.c_str());
}

TEST_CASE("weather: sample observation by city, case-insensitive", "[offline_tools]") {
  auto t = make_offline_weather_tool(weather_file);
  CHECK(t->name() == "weather");
  auto r = ok_result(*t, R"({"city":"berlin"})");
  CHECK(*json::get_string(r, "city") == "Berlin");
  CHECK(*json::get_number(r, "temperatureC") == 9.5);
  CHECK(*json::get_string(r, "condition") == "light rain");
  CHECK(*json::get_number(r, "windKph") == 18);
  CHECK(*json::get_number(r, "humidity") == 81);
  CHECK(*json::get_string(r, "observedAt") == "2026-11-02T12:00:00Z");
  CHECK(*json::get_string(r, "source") == "config/weather-sample.json");
  CHECK(*json::get_bool(r, "offline"));
  CHECK(*json::get_string(r, "label") == "offline sample data");
  CHECK_FALSE(r.HasMember("date"));

  auto ny = ok_result(*t, R"({"city":"  NEW YORK "})");
  CHECK(*json::get_string(ny, "city") == "New York");
  CHECK(*json::get_number(ny, "temperatureC") == 13.6);

  auto with_country = ok_result(*t, R"({"city":"Tokyo, Japan"})");
  CHECK(*json::get_string(with_country, "city") == "Tokyo");

  auto dated = ok_result(*t, R"({"city":"Paris","date":"tomorrow"})");
  CHECK(*json::get_string(dated, "date") == "tomorrow");
  CHECK(*json::get_string(dated, "note") == "sample data has no forecast; showing the sample observation");
}

TEST_CASE("weather: unknown city and missing data are permanent errors", "[offline_tools]") {
  auto t = make_offline_weather_tool(weather_file);
  CHECK(permanent_error(*t, R"({"city":"Atlantis"})")
        == "weather: unknown city 'Atlantis'; known: Amsterdam, Beijing, Berlin, Dubai, London, "
           "Madrid, Mumbai, New York, Paris, Rome, San Francisco, Singapore, Stockholm, Sydney, "
           "Tokyo, Toronto, Vienna, Zurich");
  // A near miss is never read as the city it resembles.
  CHECK(permanent_error(*t, R"({"city":"Berln"})") == "weather: unknown city 'Berln'; nearest known: Berlin");
  CHECK(permanent_error(*t, R"({"city":"New Yrok"})")
        == "weather: unknown city 'New Yrok'; nearest known: New York");
  CHECK(permanent_error(*t, R"({"city":" "})") == "weather: missing required string arg 'city'");
  CHECK(permanent_error(*t, R"({"town":"Berlin"})") == "weather: missing required string arg 'city'");

  auto missing = make_offline_weather_tool("/nonexistent/weather.json");
  CHECK(permanent_error(*missing, R"({"city":"Berlin"})")
        == "weather: cannot load sample data cannot read /nonexistent/weather.json");
  auto no_cities_path = write_temp("weather-empty.json", R"({"observedAt":"x","cities":{}})");
  auto no_cities = make_offline_weather_tool(no_cities_path);
  CHECK(permanent_error(*no_cities, R"({"city":"Berlin"})")
        == "weather: sample data " + no_cities_path + " has no 'cities' object");
  std::remove(no_cities_path.c_str());
}

TEST_CASE("weather sample covers at least 12 cities with all fields", "[offline_tools]") {
  std::ifstream in(weather_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = json::parse(text);
  REQUIRE(doc.ok());
  const auto& cities = (*doc)["cities"];
  CHECK(cities.MemberCount() >= 12);
  for (auto& c : cities.GetObject()) {
    INFO(c.name.GetString());
    CHECK(c.value["temperatureC"].IsNumber());
    CHECK(c.value["condition"].IsString());
    CHECK(c.value["windKph"].IsNumber());
    CHECK(c.value["humidity"].IsNumber());
  }
}

TEST_CASE("math: evaluates expressions, errors are permanent", "[offline_tools]") {
  auto t = make_math_tool();
  CHECK(t->name() == "math");
  auto r = ok_result(*t, R"({"expression":"15/100*240 + 3^2"})");
  CHECK(*json::get_string(r, "expression") == "15/100*240 + 3^2");
  CHECK(*json::get_number(r, "value") == 45);
  CHECK(r["value"].IsInt64()); // whole numbers stay integers in JSON

  auto vat = ok_result(*t, R"({"expression":" 1195.03 * 1.19 "})");
  CHECK(*json::get_string(vat, "expression") == "1195.03 * 1.19");
  CHECK(*json::get_number(vat, "value") == Approx(1422.0857).margin(1e-9));

  auto plain = ok_result(*t, R"({"expression":42})");
  CHECK(*json::get_number(plain, "value") == 42);

  CHECK(permanent_error(*t, R"({"expression":"1/0"})").rfind("math: cannot evaluate '1/0': ", 0) == 0);
  CHECK(permanent_error(*t, R"({"expression":"2 +"})").rfind("math: cannot evaluate '2 +': ", 0) == 0);
  CHECK(permanent_error(*t, R"({})") == "math: missing required arg 'expression'");
  CHECK(permanent_error(*t, R"({"expression":""})") == "math: 'expression' must be a non-empty string");
}

TEST_CASE("math: a NUL in the expression is an error, never a shorter expression", "[offline_tools]") {
  // A C-string read of "2+3\u0000*1000" is "2+3": 5. The args parser refuses the NUL (records
  // carrying one are refused at decode before that), and the tool reads the whole string.
  auto t = make_math_tool();
  CHECK(permanent_error(*t, R"({"expression":"2+3\u0000*1000"})")
        == "math: args hold a NUL character at /expression");
  CHECK(permanent_error(*t, R"({"other":"\u0000","expression":"2+3"})")
        == "math: args hold a NUL character at /other");
}

TEST_CASE("chat: an honest, deterministic offline reply", "[offline_tools]") {
  auto t = make_offline_chat_tool();
  CHECK(t->name() == "generalChat");
  const std::string capabilities =
      " I'm Eventide running offline (no LLM is configured), so I answer from bundled data only. "
      "I can look up our products and their prices, compare products, convert currencies with "
      "dated sample rates, report sample weather for major cities, and do math. Try: \"What does "
      "the Aurora X1 cost in euros?\" or \"What's the weather in Berlin?\"";
  auto hello = ok_result(*t, R"({"message":"Hi there"})");
  CHECK(*json::get_string(hello, "answer") == "Hello!" + capabilities);
  CHECK(*json::get_bool(hello, "offline"));

  auto thanks = ok_result(*t, R"({"message":"Thanks a lot"})");
  CHECK(*json::get_string(thanks, "answer") == "You're welcome!" + capabilities);

  auto question = ok_result(*t, R"({"message":"What is the  capital\nof France?"})");
  CHECK(*json::get_string(question, "answer")
        == "You asked: \"What is the capital of France?\". I can't answer open-ended questions "
           "right now." + capabilities);
  // "high" is not "hi": whole words only.
  auto high = ok_result(*t, R"({"message":"high score"})");
  CHECK(json::get_string(high, "answer")->rfind("You asked: \"high score\"", 0) == 0);

  CHECK(t->invoke(R"({"message":"Hi there"})").result_json
        == t->invoke(R"({"message":"Hi there"})").result_json);
  CHECK(permanent_error(*t, R"({"text":"hi"})") == "generalChat: missing required string arg 'message'");
}

TEST_CASE("synthesis tool: states every result of a list", "[offline_tools]") {
  auto t = make_offline_synthesis_tool();
  CHECK(t->name() == "orchestrationSynthesis");
  auto weather = make_offline_weather_tool(weather_file);
  std::string paris = weather->invoke(R"({"city":"Paris"})").result_json;
  std::string tokyo = weather->invoke(R"({"city":"Tokyo"})").result_json;
  auto r = ok_result(*t, R"({"query":"weather summary","results":[)" + paris + "," + tokyo + "]}");
  CHECK(*json::get_string(r, "answer")
        == "Paris: 12 °C, overcast, wind 14 km/h, humidity 76%. Tokyo: 17.8 °C, clear, wind 10 "
           "km/h, humidity 55%.\n"
           "Details:\n"
           "- r1 weather: Paris 12 °C, overcast (offline sample data of 2026-11-02T12:00:00Z, "
           "config/weather-sample.json)\n"
           "- r2 weather: Tokyo 17.8 °C, clear (offline sample data of 2026-11-02T12:00:00Z, "
           "config/weather-sample.json)\n"
           "Note: answered offline with sample data; no LLM or live service was used.");
  REQUIRE(r["citations"].IsArray());
  REQUIRE(r["citations"].Size() == 1);
  CHECK(std::string(r["citations"][0].GetString()) == "config/weather-sample.json");
  CHECK(*json::get_bool(r, "offline"));
  CHECK(permanent_error(*t, R"({"results":[]})")
        == "orchestrationSynthesis: missing required string arg 'query'");
}

TEST_CASE("offline tools only compute: they run on the scheduler", "[offline_tools]") {
  CHECK_FALSE(make_math_tool()->may_block());
  CHECK_FALSE(make_offline_exchange_tool(rates_file)->may_block());
  CHECK_FALSE(make_offline_weather_tool(weather_file)->may_block());
  CHECK_FALSE(make_offline_chat_tool()->may_block());
  CHECK_FALSE(make_offline_synthesis_tool()->may_block());
  CHECK_FALSE(make_offline_rag_tool(root + "/products")->may_block());
}
