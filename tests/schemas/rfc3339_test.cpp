// RFC 3339 times (schemas/rfc3339.cpp): formatting, parsing and the rule a malformed time breaks.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "schemas/rfc3339.hpp"

using namespace eventide::events;

TEST_CASE("times format as RFC 3339 UTC with milliseconds", "[codec][time]") {
  CHECK(format_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time(1795168800123) == "2026-11-20T10:00:00.123Z");
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_time(1709208000000) == "2024-02-29T12:00:00.000Z");
  CHECK(format_time(951868800000) == "2000-03-01T00:00:00.000Z");
  CHECK(format_time(-2203891200000) == "1900-03-01T00:00:00.000Z");
  CHECK(format_time(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(format_time(-62167219200000) == "0000-01-01T00:00:00.000Z");
  // Years outside 0000-9999 are written by snprintf, the others digit by digit.
  CHECK(format_time(253402300800000) == "10000-01-01T00:00:00.000Z");
  CHECK(format_time(-62167219200001) == "-001-12-31T23:59:59.999Z");
}

TEST_CASE("times parse with offsets and optional fractions", "[codec][time]") {
  auto ms = [](const char* text) {
    auto r = parse_time(text);
    if (!r)
      FAIL(r.error());
    return r.value();
  };
  CHECK(ms("2026-11-20T10:00:00.123Z") == 1795168800123);
  CHECK(ms("2026-11-20T10:00:00Z") == 1795168800000);
  CHECK(ms("2026-11-20t10:00:00.1z") == 1795168800100);
  CHECK(ms("2026-11-20T10:00:00.123987Z") == 1795168800123); // truncated, not rounded
  CHECK(ms("2026-11-20T11:00:00.5+01:00") == 1795168800500);
  CHECK(ms("2026-11-20T04:30:00-05:30") == 1795168800000);
  CHECK(ms("2026-11-21T00:30:00+14:30") == 1795168800000);
  CHECK(ms("1969-12-31T23:59:59.999Z") == -1);
  CHECK(ms("2024-02-29T12:00:00Z") == 1709208000000);
  CHECK(ms("2016-12-31T23:59:60Z") == ms("2017-01-01T00:00:00Z")); // leap second rolls over

  // Formatting and parsing are inverses across centuries and leap years.
  for (int64_t t = -2208988800000; t < 4102444800000; t += 7777777777 + 123)
    CHECK(ms(format_time(t).c_str()) == t);
}

TEST_CASE("malformed times are rejected with the rule they break", "[codec][time]") {
  auto reason = [](const char* text) {
    auto r = parse_time(text);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  const std::string shape = ": expected YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)";
  CHECK(reason("") == "invalid time ''" + shape);
  CHECK(reason("2026-11-20 10:00:00Z") == "invalid time '2026-11-20 10:00:00Z'" + shape);
  CHECK(reason("26-11-20T10:00:00Z") == "invalid time '26-11-20T10:00:00Z'" + shape);
  CHECK(reason("2026-11-20T10:00:00") ==
        "invalid time '2026-11-20T10:00:00': missing time zone (Z or +hh:mm)");
  CHECK(reason("2026-11-20T10:00:00.Z") ==
        "invalid time '2026-11-20T10:00:00.Z': fraction without digits");
  CHECK(reason("2026-11-20T10:00:00+1:00") ==
        "invalid time '2026-11-20T10:00:00+1:00': offset must be Z or +hh:mm / -hh:mm");
  CHECK(reason("2026-11-20T10:00:00+24:00") ==
        "invalid time '2026-11-20T10:00:00+24:00': offset out of range");
  CHECK(reason("2026-11-20T10:00:00Zjunk") ==
        "invalid time '2026-11-20T10:00:00Zjunk': unexpected text after the time zone");
  CHECK(reason("2026-00-20T10:00:00Z") == "invalid time '2026-00-20T10:00:00Z': month 0 out of range");
  CHECK(reason("2026-02-29T10:00:00Z") ==
        "invalid time '2026-02-29T10:00:00Z': day 29 out of range for the month");
  CHECK(reason("2026-11-20T24:00:00Z") ==
        "invalid time '2026-11-20T24:00:00Z': time of day out of range");
  CHECK(reason("2026-11-20T10:60:00Z") ==
        "invalid time '2026-11-20T10:60:00Z': time of day out of range");
}
