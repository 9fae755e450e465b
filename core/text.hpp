// Small text helpers shared by the parsers and tools.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eventide::core {

/// The items with `sep` between them.
inline std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? sep : "") + items[i];
  return out;
}

/// `s` without leading and trailing characters from `blanks`.
inline std::string trim(std::string_view s, std::string_view blanks = " \t\r\n") {
  auto b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(blanks);
  return std::string(s.substr(b, e - b + 1));
}

/// The items of a list like "a, b,c": split at `sep`, trimmed, empty ones dropped (option
/// values: approvers, prices, limits, librdkafka properties).
inline std::vector<std::string> split_list(std::string_view text, char sep = ',') {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= text.size();) {
    auto end = std::min(text.find(sep, start), text.size());
    if (auto item = core::trim(text.substr(start, end - start), " \t\r\n"); !item.empty())
      out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

/// `s` on one line, reversibly: backslash, newline, carriage return and tab written as \\ \n
/// \r \t, and each character of `also` as a backslash before it.
inline std::string escape(std::string_view s, std::string_view also = "") {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (also.find(c) != std::string_view::npos)
          out += '\\';
        out += c;
    }
  }
  return out;
}

/// The inverse of escape(): \\ \n \r \t decoded, a backslash before any other character
/// dropped (a trailing lone backslash is kept).
inline std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
  }
  return out;
}

/// `s` on one line: each run of whitespace (line breaks too) becomes one space, none at the ends.
inline std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
    if (space && (out.empty() || out.back() == ' '))
      continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

/// At most `max` bytes of `s` for a message, cut before a UTF-8 continuation byte and marked
/// with "..." when cut (a hostile record's field may be a megabyte long).
inline std::string shorten(std::string_view s, size_t max = 128) {
  if (s.size() <= max)
    return std::string(s);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
    --end;
  return std::string(s.substr(0, end)) + "...";
}

/// The value of `all` whose to_string() is `text` (snapshots store enums by name).
template <class E>
std::optional<E> parse_enum(std::string_view text, std::initializer_list<E> all) {
  for (auto e : all)
    if (text == to_string(e))
      return e;
  return std::nullopt;
}

/// ASCII lower case.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

} // namespace eventide::core
