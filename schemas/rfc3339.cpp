#include "schemas/rfc3339.hpp"

#include <cstdio>

namespace eventide::events {

namespace {

constexpr int64_t ms_per_second = 1000;
constexpr int64_t ms_per_minute = 60 * ms_per_second;
constexpr int64_t ms_per_hour = 60 * ms_per_minute;
constexpr int64_t ms_per_day = 24 * ms_per_hour;

// Division rounding toward negative infinity, so times before 1970 land in the right day.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0)))
    --q;
  return q;
}

bool is_leap_year(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int64_t year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

// Leap years counted up to and including `year` (shifted by a constant for negative years,
// which cancels in differences).
int64_t leap_years_through(int64_t year) {
  return floor_div(year, 4) - floor_div(year, 100) + floor_div(year, 400);
}

// Days from 1970-01-01 to January 1st of `year`.
int64_t days_before_year(int64_t year) {
  return 365 * (year - 1970) + leap_years_through(year - 1) - leap_years_through(1969);
}

int64_t days_from_date(int64_t year, int month, int day) {
  int64_t days = days_before_year(year);
  for (int m = 1; m < month; ++m)
    days += days_in_month(year, m);
  return days + day - 1;
}

struct date {
  int64_t year;
  int month;
  int day;
};

date date_from_days(int64_t days) {
  // Estimate with the mean Gregorian year, then correct the estimate by at most a step or two.
  int64_t year = 1970 + floor_div(days * 400, 146097);
  while (days_before_year(year) > days)
    --year;
  while (days_before_year(year + 1) <= days)
    ++year;
  int64_t day_of_year = days - days_before_year(year);
  int month = 1;
  while (day_of_year >= days_in_month(year, month)) {
    day_of_year -= days_in_month(year, month);
    ++month;
  }
  return {year, month, static_cast<int>(day_of_year) + 1};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads `count` digits at `pos`; false when any is not a digit or the text ends.
bool read_digits(std::string_view text, size_t pos, size_t count, int& out) {
  if (pos + count > text.size())
    return false;
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!is_digit(text[i]))
      return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

std::string quoted_excerpt(std::string_view text) {
  constexpr size_t shown = 40;
  if (text.size() <= shown)
    return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, shown)) + "...'";
}

} // namespace

std::string format_time(int64_t ms_since_epoch) {
  int64_t days = floor_div(ms_since_epoch, ms_per_day);
  int64_t ms_of_day = ms_since_epoch - days * ms_per_day;
  date d = date_from_days(days);
  const int hour = static_cast<int>(ms_of_day / ms_per_hour);
  const int minute = static_cast<int>(ms_of_day % ms_per_hour / ms_per_minute);
  const int second = static_cast<int>(ms_of_day % ms_per_minute / ms_per_second);
  const int millis = static_cast<int>(ms_of_day % ms_per_second);
  if (d.year < 0 || d.year > 9999) {
    char buf[72]; // room for any int the compiler cannot rule out (no -Wformat-truncation)
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  static_cast<long long>(d.year), d.month, d.day, hour, minute, second, millis);
    return buf;
  }
  // Every record's time is written here: digits by hand, a tenth of snprintf's instructions.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&](size_t at, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, d.year, 4);
  put(5, d.month, 2);
  put(8, d.day, 2);
  put(11, hour, 2);
  put(14, minute, 2);
  put(17, second, 2);
  put(20, millis, 3);
  return out;
}

outcome<int64_t> parse_time(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail("invalid time " + quoted_excerpt(text) + ": " + why);
  };
  const std::string shape = "expected YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)";
  int year, month, day, hour, minute, second;
  if (!read_digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-'
      || !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day)
      || (text[10] != 'T' && text[10] != 't') || !read_digits(text, 11, 2, hour)
      || text[13] != ':' || !read_digits(text, 14, 2, minute) || text[16] != ':'
      || !read_digits(text, 17, 2, second))
    return bad(shape);

  size_t pos = 19;
  int fraction_ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    for (; pos < text.size() && is_digit(text[pos]); ++pos, ++digits)
      if (digits < 3)
        fraction_ms = fraction_ms * 10 + (text[pos] - '0');
    if (digits == 0)
      return bad("fraction without digits");
    for (size_t i = digits; i < 3; ++i)
      fraction_ms *= 10;
  }

  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    int offset_hours, offset_mins;
    if (!read_digits(text, pos + 1, 2, offset_hours) || pos + 3 >= text.size()
        || text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, offset_mins))
      return bad("offset must be Z or +hh:mm / -hh:mm");
    if (offset_hours > 23 || offset_mins > 59)
      return bad("offset out of range");
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
    pos += 6;
  } else {
    return bad("missing time zone (Z or +hh:mm)");
  }
  if (pos != text.size())
    return bad("unexpected text after the time zone");

  if (month < 1 || month > 12)
    return bad("month " + std::to_string(month) + " out of range");
  if (day < 1 || day > days_in_month(year, month))
    return bad("day " + std::to_string(day) + " out of range for the month");
  if (hour > 23 || minute > 59 || second > 60)
    return bad("time of day out of range");

  int64_t days = days_from_date(year, month, day);
  return days * ms_per_day + hour * ms_per_hour + minute * ms_per_minute
         + second * ms_per_second + fraction_ms - offset_minutes * ms_per_minute;
}

} // namespace eventide::events
