// Thin helpers over RapidJSON shared by every module. JSON that crosses module or actor
// boundaries travels as text (std::string) so structs stay copyable; parse where it is used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "core/outcome.hpp"

namespace eventide::json {

using document = rapidjson::Document;
using value = rapidjson::Value;
using allocator = rapidjson::Document::AllocatorType;

/// The deepest nesting of arrays and objects any parse accepts. RapidJSON's parser, its
/// document destructor and the schema validator all recurse, so text nested deeper (a record of
/// 200,000 '[' crashed every node that read it) is refused before any of them runs. No schema
/// of ours needs more than a handful of levels.
inline constexpr int max_depth = 64;

/// Where `text` first nests arrays/objects deeper than `max` (a byte offset), if it does.
/// A linear scan that skips strings; it needs no valid JSON and no stack.
std::optional<size_t> too_deep(std::string_view text, int max = max_depth);

/// Parses text (valid UTF-8 only, no object with a repeated member name); the failure names the
/// byte offset and RapidJSON's reason, the depth bound, or the repeated key and the JSON pointer
/// of its object ("duplicate key 'query' at /data").
outcome<document> parse(std::string_view text);

/// The JSON pointer ("/data/query", "" for the root) of the first string or member name that
/// holds a NUL character, if any. C-string readers would cut the text there ("2+3\u0000*1000"
/// read as "2+3"), so a record carrying one is refused whole. Recurses at most max_depth deep
/// on a parsed document.
std::optional<std::string> find_nul(const value& v);

/// Compact serialization.
std::string dump(const value& v);

/// `text` as a JSON string literal, quotes and escapes included (RapidJSON's writer), for
/// documents assembled around raw JSON that is already valid.
std::string quote(std::string_view text);

/// Looks up a dotted path with optional array indices: "a.b[0].c" or "a.b.0.c".
/// An empty path returns &root. Returns nullptr when any segment is missing.
const value* find_path(const value& root, std::string_view path);

/// Typed member accessors that return nullopt when absent or of another type.
std::optional<std::string> get_string(const value& obj, const char* member);
std::optional<double> get_number(const value& obj, const char* member);
std::optional<int64_t> get_int(const value& obj, const char* member);
std::optional<bool> get_bool(const value& obj, const char* member);

/// Copies `v` into a new document.
document copy(const value& v);

/// A string value owned by `alloc`.
inline value str(std::string_view s, allocator& alloc) {
  return value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
}

/// Renders a value as text for humans: strings unquoted, numbers without trailing zeros
/// (42, 3.5, 1234.57), everything else as compact JSON.
std::string to_text(const value& v);

/// Formats a number the way to_text does.
std::string format_number(double d);

} // namespace eventide::json
