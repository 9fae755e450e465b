// weather and exchangeRate over live HTTP APIs (Open-Meteo and Frankfurter style), with the
// offline tools as fallback when the service fails after retries or its circuit is open.
#pragma once

#include <memory>
#include <string>

#include "providers/provider_config.hpp"
#include "providers/resilience.hpp"
#include "providers/tool.hpp"

namespace eventide::providers {

struct http_tool_settings {
  std::string url; // base, e.g. "https://api.open-meteo.com"
  long connect_timeout_ms = 2000;
  long timeout_ms = 10000;
};

/// weather: {"city","date"?} -> GET {url}/v1/forecast?latitude=..&longitude=..&current=
/// temperature_2m,wind_speed_10m,relative_humidity_2m,weather_code (coordinates from a built-in
/// table of the sample cities) -> {"city","temperatureC","condition","windKph","humidity",
/// "weatherCode","observedAt","source":<url host>,"offline":false}. Circuit key
/// "weather/<host>". On a service failure: the offline tool's result with "label":
/// "offline sample (live service failed: <reason>)". An unknown city is a permanent error.
std::unique_ptr<tool> make_http_weather_tool(http_tool_settings settings,
                                             std::shared_ptr<resilient_http> http,
                                             std::unique_ptr<tool> offline_fallback);

/// exchangeRate: {"from","to","amount"?} -> GET {url}/latest?from=USD&to=EUR[&amount=..]
/// (Frankfurter: with an amount, rates hold converted amounts) -> {"from","to","amount","rate",
/// "converted","date","source":<url host>,"offline":false}; rate to 6 significant digits,
/// converted to 2 decimals, as offline. Circuit key "exchange/<host>". Fallback as weather.
std::unique_ptr<tool> make_http_exchange_tool(http_tool_settings settings,
                                              std::shared_ptr<resilient_http> http,
                                              std::unique_ptr<tool> offline_fallback);

/// The weather/exchangeRate tool the runtime's tools_mode asks for ("offline" | "http");
/// data files default to resource_root()/config/{weather-sample,exchange-rates}.json.
std::unique_ptr<tool> make_weather_tool(const provider_runtime& runtime, std::string sample_file = "");
std::unique_ptr<tool> make_exchange_tool(const provider_runtime& runtime, std::string rates_file = "");

/// The built-in coordinates of a city (case-insensitive; "Berlin, Germany" finds Berlin).
bool city_coordinates(const std::string& city, std::string& canonical, double& latitude,
                      double& longitude);

/// WMO weather interpretation code -> "light rain", "overcast", ... ("unknown (code N)").
std::string weather_condition(int wmo_code);

} // namespace eventide::providers
