// weather and exchangeRate over HTTP (Open-Meteo / Frankfurter shapes) against the loopback
// test server, and their labelled offline fallback when the live service fails.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/json.hpp"
#include "providers/http_tools.hpp"
#include "providers/offline_tools.hpp"
#include "tests/tools/http_test_server.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;

namespace {

const std::string weather_file = EVENTIDE_SOURCE_DIR "/config/weather-sample.json";
const std::string rates_file = EVENTIDE_SOURCE_DIR "/config/exchange-rates.json";

std::shared_ptr<resilient_http> quick_http(int attempts, breaker_policy breaker = {}) {
  retry_policy p;
  p.max_attempts = attempts;
  p.backoff = {1, 2, 2.0};
  return std::make_shared<resilient_http>(p, breaker, nullptr,
                                          clock_hooks{nullptr, [](int64_t) {}});
}

std::unique_ptr<tool> live_weather(const http_test_server& server, std::shared_ptr<resilient_http> http,
                              long timeout_ms = 2000) {
  return make_http_weather_tool({server.url(), 1000, timeout_ms}, std::move(http),
                                make_offline_weather_tool(weather_file));
}

std::unique_ptr<tool> live_exchange(const http_test_server& server, std::shared_ptr<resilient_http> http) {
  return make_http_exchange_tool({server.url(), 1000, 2000}, std::move(http),
                                 make_offline_exchange_tool(rates_file));
}

json::document parsed(const std::string& text) {
  auto d = json::parse(text);
  REQUIRE(d.ok());
  return std::move(d).value();
}

const char* berlin_now =
    R"({"latitude":52.52,"longitude":13.419998,"timezone":"GMT","current_units":{"temperature_2m":"°C"},)"
    R"("current":{"time":"2026-11-20T10:00","interval":900,"temperature_2m":3.4,"wind_speed_10m":12.5,)"
    R"("relative_humidity_2m":87,"weather_code":61}})";

} // namespace

TEST_CASE("weather over HTTP: exact request and live result", "[http][tools]") {
  http_test_server server;
  server.enqueue("/v1/forecast", {200, berlin_now, {}, 0});
  auto tool = live_weather(server, quick_http(2));
  CHECK(tool->name() == "weather");
  auto out = tool->invoke(R"({"city":"berlin, Germany"})");
  REQUIRE(out.ok);
  CHECK(out.result_json
        == R"({"city":"Berlin","temperatureC":3.4,"condition":"light rain","windKph":12.5,"humidity":87,)"
           R"("weatherCode":61,"observedAt":"2026-11-20T10:00:00Z","source":"127.0.0.1","offline":false})");
  auto seen = server.requests("/v1/forecast");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target
        == "/v1/forecast?latitude=52.52&longitude=13.41&current=temperature_2m,wind_speed_10m,"
           "relative_humidity_2m,weather_code");
}

TEST_CASE("weather: a response slower than the timeout is retried, then falls back offline", "[http][tools]") {
  http_test_server server;
  server.set_default("/v1/forecast", {200, berlin_now, {}, 400});
  auto tool = live_weather(server, quick_http(2), 100);
  auto out = tool->invoke(R"({"city":"Berlin"})");
  REQUIRE(out.ok);
  CHECK(server.request_count("/v1/forecast") == 2);
  auto d = parsed(out.result_json);
  CHECK(json::get_bool(d, "offline") == true);
  CHECK(json::get_number(d, "temperatureC") == 9.5); // the sample data set
  CHECK(json::get_string(d, "source") == std::string("config/weather-sample.json"));
  CHECK(json::get_string(d, "label")
        == "offline sample (live service failed: weather/127.0.0.1: giving up after 2 attempts: "
           "timed out after 100 ms: " + server.url() + "/v1/forecast?latitude=52.52&longitude=13.41&"
           "current=temperature_2m,wind_speed_10m,relative_humidity_2m,weather_code)");
}

TEST_CASE("weather: malformed replies fall back, unknown cities are permanent errors", "[http][tools]") {
  http_test_server server;
  auto tool = live_weather(server, quick_http(1));
  SECTION("not JSON") {
    server.set_default("/v1/forecast", {200, "<html>oops</html>", {}, 0});
    auto d = parsed(tool->invoke(R"({"city":"Paris"})").result_json);
    CHECK(json::get_string(d, "city") == std::string("Paris"));
    CHECK(json::get_string(d, "label")->rfind("offline sample (live service failed: reply of 127.0.0.1 is not JSON", 0) == 0);
  }
  SECTION("fields missing") {
    server.set_default("/v1/forecast", {200, R"({"current":{"temperature_2m":1}})", {}, 0});
    auto d = parsed(tool->invoke(R"({"city":"Paris"})").result_json);
    CHECK(json::get_string(d, "label")
          == std::string("offline sample (live service failed: reply of 127.0.0.1 lacks current.temperature_2m, "
                         "wind_speed_10m, relative_humidity_2m or weather_code)"));
  }
  SECTION("unknown city") {
    auto out = tool->invoke(R"({"city":"Atlantis"})");
    REQUIRE_FALSE(out.ok);
    CHECK_FALSE(out.retryable);
    CHECK(out.error
          == "weather: unknown city 'Atlantis'; known: Berlin, Paris, London, Madrid, Rome, Amsterdam, "
             "Vienna, Zurich, Stockholm, New York, San Francisco, Toronto, Tokyo, Singapore, Sydney, "
             "Dubai, Mumbai, Beijing");
    CHECK(server.requests().empty());
  }
}

TEST_CASE("exchangeRate over HTTP with an amount: Frankfurter returns the converted amount", "[http][tools]") {
  http_test_server server;
  server.enqueue("/latest", {200, R"({"amount":1299.0,"base":"USD","date":"2026-11-19","rates":{"EUR":1120.07}})", {}, 0});
  auto tool = live_exchange(server, quick_http(2));
  auto out = tool->invoke(R"({"from":"usd","to":"EUR","amount":"1299"})");
  REQUIRE(out.ok);
  CHECK(out.result_json
        == R"({"from":"USD","to":"EUR","amount":1299,"rate":0.862256,"converted":1120.07,)"
           R"("date":"2026-11-19","source":"127.0.0.1","offline":false})");
  auto seen = server.requests("/latest");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/latest?from=USD&to=EUR&amount=1299");
}

TEST_CASE("exchangeRate over HTTP without an amount asks for the plain rate", "[http][tools]") {
  http_test_server server;
  server.enqueue("/latest", {200, R"({"amount":1.0,"base":"GBP","date":"2026-11-19","rates":{"JPY":187.5}})", {}, 0});
  auto out = live_exchange(server, quick_http(2))->invoke(R"({"from":"GBP","to":"JPY"})");
  REQUIRE(out.ok);
  CHECK(out.result_json
        == R"({"from":"GBP","to":"JPY","amount":1,"rate":187.5,"converted":187.5,"date":"2026-11-19",)"
           R"("source":"127.0.0.1","offline":false})");
  CHECK(server.requests("/latest")[0].target == "/latest?from=GBP&to=JPY");
}

TEST_CASE("exchangeRate falls back to the dated offline table, labelled", "[http][tools]") {
  http_test_server server;
  server.set_default("/latest", {500, "maintenance", {}, 0});
  auto tool = live_exchange(server, quick_http(2));
  const std::string args = R"({"from":"USD","to":"EUR","amount":1299})";
  auto out = tool->invoke(args);
  REQUIRE(out.ok);
  CHECK(server.request_count("/latest") == 2);
  auto d = parsed(out.result_json);
  auto offline = parsed(make_offline_exchange_tool(rates_file)->invoke(args).result_json);
  CHECK(json::get_number(d, "converted") == json::get_number(offline, "converted"));
  CHECK(json::get_number(d, "rate") == json::get_number(offline, "rate"));
  CHECK(json::get_bool(d, "offline") == true);
  CHECK(json::get_string(d, "label")
        == "offline sample (live service failed: exchange/127.0.0.1: giving up after 2 attempts: HTTP 500 from "
               + server.url() + "/latest?from=USD&to=EUR&amount=1299: maintenance)");
}

TEST_CASE("exchangeRate: an open circuit falls back without a request", "[http][tools]") {
  http_test_server server;
  server.set_default("/latest", {503, "", {}, 0});
  auto tool = live_exchange(server, quick_http(1, {1, 60000}));
  REQUIRE(tool->invoke(R"({"from":"USD","to":"EUR"})").ok);
  CHECK(server.request_count("/latest") == 1);
  auto out = tool->invoke(R"({"from":"USD","to":"GBP"})");
  REQUIRE(out.ok);
  CHECK(server.request_count("/latest") == 1);
  CHECK(json::get_string(parsed(out.result_json), "label")
        == std::string("offline sample (live service failed: circuit open for exchange/127.0.0.1)"));
}

TEST_CASE("exchangeRate: bad args are permanent errors and send nothing", "[http][tools]") {
  http_test_server server;
  auto tool = live_exchange(server, quick_http(1));
  auto missing = tool->invoke(R"({"from":"USD"})");
  REQUIRE_FALSE(missing.ok);
  CHECK(missing.error == "exchangeRate: missing required string arg 'to'");
  // Not a currency code: the offline table says it is unknown, with the codes it knows.
  auto code = tool->invoke(R"({"from":"{{steps.s1.result.currency}}","to":"EUR"})");
  REQUIRE_FALSE(code.ok);
  CHECK_FALSE(code.retryable);
  CHECK(code.error
        == "exchangeRate: unknown currency '{{steps.s1.result.currency}}'; known: EUR, USD, GBP, "
           "JPY, CHF, CAD, AUD, CNY, INR, SEK, NOK, DKK, PLN, NZD, SGD, HKD, KRW, MXN, BRL, ZAR");
  auto amount = tool->invoke(R"({"from":"USD","to":"EUR","amount":-5})");
  REQUIRE_FALSE(amount.ok);
  CHECK(amount.error == "exchangeRate: 'amount' must be a non-negative number, got -5");
  CHECK(server.requests().empty());
}

TEST_CASE("exchangeRate: a currency unknown to the live service is reported, never defaulted", "[http][tools]") {
  http_test_server server;
  auto tool = live_exchange(server, quick_http(2));
  SECTION("a name is never sent") {
    auto out = tool->invoke(R"({"from":"doubloons","to":"USD","amount":100})");
    REQUIRE_FALSE(out.ok);
    CHECK_FALSE(out.retryable);
    CHECK(out.error
          == "exchangeRate: unknown currency 'doubloons'; known: EUR, USD, GBP, JPY, CHF, CAD, AUD, "
             "CNY, INR, SEK, NOK, DKK, PLN, NZD, SGD, HKD, KRW, MXN, BRL, ZAR");
    CHECK(server.requests().empty());
  }
  SECTION("the service rejects the code (Frankfurter: 404 not found)") {
    server.set_default("/latest", {404, R"({"message":"not found"})", {}, 0});
    auto out = tool->invoke(R"({"from":"XYZ","to":"EUR","amount":100})");
    REQUIRE_FALSE(out.ok);
    CHECK_FALSE(out.retryable);
    CHECK(server.request_count("/latest") == 1); // a 4xx is never retried
    CHECK(out.error
          == "exchangeRate: unknown currency 'XYZ'; known: EUR, USD, GBP, JPY, CHF, CAD, AUD, CNY, "
             "INR, SEK, NOK, DKK, PLN, NZD, SGD, HKD, KRW, MXN, BRL, ZAR (live service failed: "
             "HTTP 404 from " + server.url()
             + "/latest?from=XYZ&to=EUR&amount=100: {\"message\":\"not found\"})");
  }
  SECTION("the reply lacks the asked rate") {
    server.set_default("/latest", {200, R"({"amount":1.0,"base":"USD","date":"2026-11-19","rates":{}})", {}, 0});
    auto out = tool->invoke(R"({"from":"USD","to":"XYZ"})");
    REQUIRE_FALSE(out.ok);
    CHECK(out.error.rfind("exchangeRate: unknown currency 'XYZ'; known: EUR, USD,", 0) == 0);
    CHECK(out.error.find("(live service failed: reply of 127.0.0.1 lacks rates.XYZ or date)")
          != std::string::npos);
  }
}

TEST_CASE("tools_mode picks offline or HTTP tools", "[http][tools]") {
  http_test_server server;
  server.set_default("/v1/forecast", {200, berlin_now, {}, 0});
  provider_config c;
  c.weather_url = server.url();
  c.exchange_url = server.url();
  auto offline = make_weather_tool(*make_provider_runtime(c));
  CHECK(json::get_bool(parsed(offline->invoke(R"({"city":"Berlin"})").result_json), "offline") == true);
  c.tools_mode = "http";
  auto live = make_weather_tool(*make_provider_runtime(c));
  CHECK(json::get_bool(parsed(live->invoke(R"({"city":"Berlin"})").result_json), "offline") == false);
  CHECK(server.request_count("/v1/forecast") == 1);
  CHECK(make_exchange_tool(*make_provider_runtime(c))->name() == "exchangeRate");
  // Only the HTTP tools may block (their runners get a thread each).
  CHECK_FALSE(offline->may_block());
  CHECK(live->may_block());
}

TEST_CASE("weather codes and city table", "[http][tools]") {
  CHECK(weather_condition(0) == "clear sky");
  CHECK(weather_condition(63) == "moderate rain");
  CHECK(weather_condition(99) == "thunderstorm with hail");
  CHECK(weather_condition(42) == "unknown (code 42)");
  std::string name;
  double lat = 0, lon = 0;
  REQUIRE(city_coordinates("  new york ", name, lat, lon));
  CHECK(name == "New York");
  CHECK(lat == 40.71);
  CHECK(lon == -74.01);
  CHECK_FALSE(city_coordinates("Gotham", name, lat, lon));
}
