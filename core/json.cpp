#include "core/json.hpp"

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/text.hpp"

namespace eventide::json {

std::optional<size_t> too_deep(std::string_view text, int max) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max)
        return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

namespace {

std::string_view name_of(const value& v) { return {v.GetString(), v.GetStringLength()}; }

// The first repeated member name of `obj` itself. Small objects (almost all of them) compare
// pairwise; larger ones go through an open-addressing hash table of member indices: linear in
// the member count, one allocation per object.
std::optional<std::string_view> repeated_name(const value& obj) {
  auto n = obj.MemberCount();
  auto begin = obj.MemberBegin();
  if (n <= 16) {
    for (rapidjson::SizeType i = 1; i < n; ++i)
      for (rapidjson::SizeType j = 0; j < i; ++j)
        if (name_of(begin[i].name) == name_of(begin[j].name))
          return name_of(begin[i].name);
    return std::nullopt;
  }
  size_t capacity = 64;
  while (capacity < 2 * size_t{n})
    capacity *= 2;
  std::vector<uint32_t> slots(capacity, 0); // member index + 1; 0 = free
  std::hash<std::string_view> hash;
  for (rapidjson::SizeType i = 0; i < n; ++i) {
    auto name = name_of(begin[i].name);
    for (size_t at = hash(name) & (capacity - 1);; at = (at + 1) & (capacity - 1)) {
      if (slots[at] == 0) {
        slots[at] = i + 1;
        break;
      }
      if (name_of(begin[slots[at] - 1].name) == name)
        return name;
    }
  }
  return std::nullopt;
}

// Where the first object with a repeated member name is (a JSON pointer, "" for the root) and
// that name. Recurses at most max_depth deep: the depth bound was checked before the parse.
std::optional<std::pair<std::string, std::string_view>> find_repeated_key(const value& v) {
  if (v.IsObject()) {
    if (auto name = repeated_name(v))
      return std::make_pair(std::string(), *name);
    for (auto& m : v.GetObject())
      if (m.value.IsObject() || m.value.IsArray())
        if (auto found = find_repeated_key(m.value)) {
          found->first = "/" + std::string(name_of(m.name)) + found->first;
          return found;
        }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      if (v[i].IsObject() || v[i].IsArray())
        if (auto found = find_repeated_key(v[i])) {
          found->first = "/" + std::to_string(i) + found->first;
          return found;
        }
  }
  return std::nullopt;
}

} // namespace

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// The \uXXXX escape starting at text[i] (the backslash), or -1.
int unicode_escape(std::string_view text, size_t i) {
  if (i + 5 >= text.size() || text[i + 1] != 'u')
    return -1;
  int v = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    int d = hex_digit(text[k]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

// What the parser itself would let through, found in one linear pass that skips strings' plain
// characters and needs no stack: nesting deeper than max_depth (the parser, the document's
// destructor and the schema validator recurse), and a low-surrogate escape \uDC00-\uDFFF that
// does not follow a high one (RapidJSON stores it as the invalid UTF-8 bytes ED B0 80, which
// every writer would then pass on).
std::optional<std::string> prescan(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  size_t high_end = std::string_view::npos; // just after the last \uD800-\uDBFF escape
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        int v = unicode_escape(text, i);
        if (v >= 0xDC00 && v <= 0xDFFF && high_end != i) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "%04x", v);
          return "invalid JSON at byte " + std::to_string(i) + ": lone surrogate \\u"
                 + hex + " in string";
        }
        if (v >= 0xD800 && v <= 0xDBFF)
          high_end = i + 6;
        i += v >= 0 ? 5 : 1;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return "JSON nested deeper than " + std::to_string(max_depth) + " levels (at byte "
               + std::to_string(i) + ")";
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

} // namespace

outcome<document> parse(std::string_view text) {
  // RapidJSON skips a UTF-8 byte order mark; JSON.parse and most other readers refuse one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    return fail("invalid JSON at byte 0: a byte order mark");
  if (auto refused = prescan(text))
    return fail(std::move(*refused));
  document d;
  // Invalid UTF-8 is refused here, so it never reaches a record, a tool or an answer. The
  // parse also rejects trailing non-whitespace.
  d.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (d.HasParseError())
    return fail("invalid JSON at byte " + std::to_string(d.GetErrorOffset()) + ": "
                + rapidjson::GetParseError_En(d.GetParseError()));
  // RapidJSON reads a NUL byte as the end of its input: "{...}\0anything" parses as "{...}".
  // A NUL cannot be inside a valid document (not even in a string), so one here ended it.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return fail("invalid JSON at byte " + std::to_string(nul)
                + ": a NUL byte after the document");
  // RapidJSON keeps every member and its lookups find the first; JSON.parse, ajv and most
  // other readers keep the last. An object with a repeated name would be read differently by
  // two readers of one record, so it is refused.
  if (auto dup = find_repeated_key(d))
    return fail("duplicate key '" + core::shorten(dup->second, 64) + "' at "
                + (dup->first.empty() ? std::string("/") : core::shorten(dup->first, 256)));
  return d;
}

std::optional<std::string> find_nul(const value& v) {
  auto has_nul = [](const value& s) {
    return std::string_view(s.GetString(), s.GetStringLength()).find('\0') != std::string_view::npos;
  };
  if (v.IsString())
    return has_nul(v) ? std::optional<std::string>{""} : std::nullopt;
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      if (auto at = find_nul(v[i]))
        return "/" + std::to_string(i) + *at;
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      std::string name(m.name.GetString(), m.name.GetStringLength());
      if (has_nul(m.name))
        return "/" + name;
      if (auto at = find_nul(m.value))
        return "/" + name + *at;
    }
  }
  return std::nullopt;
}

std::string dump(const value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

const value* find_path(const value& root, std::string_view path) {
  const value* cur = &root;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      auto close = path.find(']', i);
      if (close == std::string_view::npos)
        return nullptr;
      auto idx = path.substr(i + 1, close - i - 1);
      if (idx.empty() || !cur->IsArray())
        return nullptr;
      char* end = nullptr;
      std::string idx_s(idx);
      unsigned long n = std::strtoul(idx_s.c_str(), &end, 10);
      if (*end != '\0' || n >= cur->Size())
        return nullptr;
      cur = &(*cur)[static_cast<rapidjson::SizeType>(n)];
      i = close + 1;
      continue;
    }
    auto next = path.find_first_of(".[", i);
    auto seg = path.substr(i, next == std::string_view::npos ? path.size() - i : next - i);
    i = next == std::string_view::npos ? path.size() : next;
    if (cur->IsObject()) {
      auto it = cur->FindMember(value(rapidjson::StringRef(seg.data(), seg.size())));
      if (it == cur->MemberEnd())
        return nullptr;
      cur = &it->value;
    } else if (cur->IsArray()) {
      std::string seg_s(seg);
      char* end = nullptr;
      unsigned long n = std::strtoul(seg_s.c_str(), &end, 10);
      if (seg_s.empty() || *end != '\0' || n >= cur->Size())
        return nullptr;
      cur = &(*cur)[static_cast<rapidjson::SizeType>(n)];
    } else {
      return nullptr;
    }
  }
  return cur;
}

std::optional<std::string> get_string(const value& obj, const char* member) {
  if (!obj.IsObject())
    return std::nullopt;
  auto it = obj.FindMember(member);
  if (it == obj.MemberEnd() || !it->value.IsString())
    return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<double> get_number(const value& obj, const char* member) {
  if (!obj.IsObject())
    return std::nullopt;
  auto it = obj.FindMember(member);
  if (it == obj.MemberEnd() || !it->value.IsNumber())
    return std::nullopt;
  return it->value.GetDouble();
}

std::optional<int64_t> get_int(const value& obj, const char* member) {
  if (!obj.IsObject())
    return std::nullopt;
  auto it = obj.FindMember(member);
  if (it == obj.MemberEnd() || !it->value.IsInt64())
    return std::nullopt;
  return it->value.GetInt64();
}

std::optional<bool> get_bool(const value& obj, const char* member) {
  if (!obj.IsObject())
    return std::nullopt;
  auto it = obj.FindMember(member);
  if (it == obj.MemberEnd() || !it->value.IsBool())
    return std::nullopt;
  return it->value.GetBool();
}

document copy(const value& v) {
  document d;
  d.CopyFrom(v, d.GetAllocator());
  return d;
}

std::string format_number(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", d);
  return buf;
}

std::string to_text(const value& v) {
  if (v.IsString())
    return std::string(v.GetString(), v.GetStringLength());
  if (v.IsNumber())
    return format_number(v.GetDouble());
  return dump(v);
}

} // namespace eventide::json
