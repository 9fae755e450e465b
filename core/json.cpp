#include "core/json.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <functional>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/text.hpp"

namespace eventide::json {

namespace {

// Builds the document from the reader's events like Document::Parse does, refusing two things
// RapidJSON 1.1 accepts but cannot hold faithfully (both found by fuzzing, tests/fuzz/):
// - a number that overflows to infinity ("221e308": only exponents above 308 were refused),
//   which json::dump cannot write, so it returned "" or a document cut off before it;
// - a lone low-surrogate escape ("\udc00"), decoded to bytes that are not UTF-8 in text that
//   is (a lone high one was already refused, with the same message).
class checked_builder {
 public:
  explicit checked_builder(document& d) : d_(d) {}

  rapidjson::ParseErrorCode refused = rapidjson::kParseErrorNone;

  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned i) { return d_.Uint(i); }
  bool Int64(int64_t i) { return d_.Int64(i); }
  bool Uint64(uint64_t i) { return d_.Uint64(i); }
  bool Double(double v) {
    return std::isfinite(v) ? d_.Double(v) : refuse(rapidjson::kParseErrorNumberTooBig);
  }
  // Every number arrives as its text (kParseNumbersAsStringsFlag): RapidJSON's own conversion
  // is not correctly rounded, so a 41-digit integer became a neighbour of the nearest double
  // and the shortest text the writer printed for it read back as another one (fuzz.envelope).
  // Integers that fit 64 bits keep RapidJSON's integer types; the rest is read by from_chars,
  // which rounds correctly.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    bool minus = *s == '-';
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      uint64_t u = 0;
      auto [at, ec] = std::from_chars(s + minus, end, u);
      if (ec == std::errc() && at == end) {
        if (!minus)
          return u <= UINT32_MAX ? d_.Uint(static_cast<unsigned>(u)) : d_.Uint64(u);
        if (u <= uint64_t{1} << 31)
          return d_.Int(static_cast<int>(-static_cast<int64_t>(u)));
        if (u <= uint64_t{1} << 63)
          return d_.Int64(static_cast<int64_t>(~u + 1));
      }
    }
    double v = 0;
    auto [at, ec] = std::from_chars(s, end, v);
    if (ec == std::errc::result_out_of_range)
      v = std::strtod(std::string(s, n).c_str(), nullptr); // +-HUGE_VAL or a value near zero
    else if (ec != std::errc() || at != end)
      return refuse(rapidjson::kParseErrorNumberMissExponent); // RapidJSON checked the grammar
    return Double(v);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return has_surrogate(s, n) ? refuse(rapidjson::kParseErrorStringUnicodeSurrogateInvalid)
                               : d_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return has_surrogate(s, n) ? refuse(rapidjson::kParseErrorStringUnicodeSurrogateInvalid)
                               : d_.Key(s, n, copy);
  }
  // The depth bound: the reader calls these right after taking the '{' or '[' and before it
  // recurses into the contents, so refusing here bounds its recursion (and the document's).
  bool StartObject() { return deeper() && d_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) { return --depth_, d_.EndObject(members); }
  bool StartArray() { return deeper() && d_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return --depth_, d_.EndArray(elements); }

  bool too_deep = false; // refused at an object or array nested deeper than max_depth

 private:
  bool refuse(rapidjson::ParseErrorCode code) {
    refused = code;
    return false;
  }

  bool deeper() {
    if (++depth_ <= max_depth)
      return true;
    too_deep = true;
    return false;
  }

  int depth_ = 0;

  // U+D800..U+DFFF in UTF-8 is ED A0..BF xx. The raw text was checked to be UTF-8, so only a
  // \u escape can have put these bytes in a string.
  static bool has_surrogate(const char* s, size_t n) {
    const char* end = s + n;
    for (const char* p = s; p < end; ++p) {
      p = static_cast<const char*>(std::memchr(p, '\xED', static_cast<size_t>(end - p)));
      if (!p)
        return false;
      if (p + 1 < end && static_cast<unsigned char>(p[1]) >= 0xA0)
        return true;
    }
    return false;
  }

  document& d_;
};

} // namespace

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
// that name. Recurses at most max_depth deep: the parse refused anything deeper.
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

// One pass over the text, eight bytes at a time: whether every byte is ASCII, and whether
// one is NUL.
struct text_bytes {
  bool ascii = true;
  bool nul = false;
};

text_bytes scan_bytes(std::string_view text) {
  constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t high = 0, zero = 0;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    high |= w;
    zero |= (w - ones) & ~w; // some byte of w is 0 iff this has a top bit set (highs)
  }
  for (; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    high |= c;
    zero |= c == 0 ? 0x80 : 0;
  }
  return {(high & highs) == 0, (zero & highs) != 0};
}

template <unsigned flags, class Stream>
rapidjson::ParseResult parse_into(document& d, Stream& in, checked_builder& builder) {
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  auto generate = [&](document&) {
    result = reader.Parse<flags>(in, builder);
    return !result.IsError();
  };
  d.Populate(generate);
  return result;
}

} // namespace

outcome<document> parse(std::string_view text) {
  // RapidJSON skips a UTF-8 byte order mark; JSON.parse and most other readers refuse one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    return fail("invalid JSON at byte 0: a byte order mark");
  const auto bytes = scan_bytes(text);
  // Numbers as text: see checked_builder::RawNumber. Invalid UTF-8 is refused here, so it never
  // reaches a record, a tool or an answer; ASCII text is valid UTF-8, and its per-character
  // encoding check (a sixth of a record's decode) is skipped. The parse also rejects trailing
  // non-whitespace.
  constexpr unsigned flags = rapidjson::kParseNumbersAsStringsFlag;
  constexpr unsigned validating = flags | rapidjson::kParseValidateEncodingFlag;
  document d;
  checked_builder builder(d);
  rapidjson::ParseResult result;
  if (!bytes.nul) {
    // The common case reads a NUL-terminated copy through RapidJSON's plain string stream:
    // no bounds check per character. Its UTF-8 check takes a multi-byte character's tail
    // bytes without looking, so a text that ends inside one reads up to three bytes past its
    // end: four NULs follow the text. (Not RapidJSON's SSE2 scanning: in 1.1.0 it lets raw
    // control characters 0x1A-0x1F through, see the README's design notes.)
    thread_local std::string reused; // one record's copy after another, without allocating
    std::string large;
    auto& copy = text.size() <= 64 * 1024 ? reused : large;
    copy.assign(text.data(), text.size());
    copy.append(4, '\0');
    rapidjson::StringStream in(copy.c_str());
    result = bytes.ascii ? parse_into<flags>(d, in, builder) : parse_into<validating>(d, in, builder);
  } else {
    // A raw NUL: a string stream would end there, the memory stream reads it as a character.
    rapidjson::MemoryStream mem(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(mem);
    result = bytes.ascii ? parse_into<flags>(d, in, builder) : parse_into<validating>(d, in, builder);
  }
  // Text nested too deep is refused as such wherever else it is invalid (as when the depth was
  // checked before parsing): a parse that failed early scans for it.
  std::optional<size_t> deep;
  if (builder.too_deep)
    deep = result.Offset() - 1; // just after the '{' or '[' that went deeper
  else if (result.IsError())
    deep = too_deep(text);
  if (deep)
    return fail("JSON nested deeper than " + std::to_string(max_depth) + " levels (at byte "
                + std::to_string(*deep) + ")");
  if (result.IsError()) {
    auto code = builder.refused != rapidjson::kParseErrorNone ? builder.refused : result.Code();
    return fail("invalid JSON at byte " + std::to_string(result.Offset()) + ": "
                + rapidjson::GetParseError_En(code));
  }
  // RapidJSON's memory stream reads a NUL byte as the end of the text, so "{...}\0anything"
  // parsed as "{...}". JSON has no raw NUL anywhere (found by fuzzing, tests/fuzz/); inside a
  // string the parse above already failed on it.
  if (bytes.nul)
    return fail("invalid JSON at byte " + std::to_string(text.find('\0'))
                + ": a NUL byte (escape it as \\u0000 inside a string)");
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
      // The name is copied only for the answer: this runs on every decoded record.
      auto name = [&] { return std::string(m.name.GetString(), m.name.GetStringLength()); };
      if (has_nul(m.name))
        return "/" + name();
      if (auto at = find_nul(m.value))
        return "/" + name() + *at;
    }
  }
  return std::nullopt;
}

std::string quote(std::string_view text) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buf.GetString(), buf.GetSize());
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
