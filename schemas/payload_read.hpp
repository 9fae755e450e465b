// The reading half of the event codec (schemas/codec.cpp): checked accessors of JSON data, the
// typed reader of every payload, and the catalog of event types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "model/events.hpp"

namespace eventide::events::detail {

// After schema validation every member a reader asks for exists with the right type. The
// accessors check it anyway: decode_handled() reads records without validating them, and a
// record that is not what it should be must fail the read, never crash it (RapidJSON's
// accessors do not check in a release build).

/// A member missing, or of another type than the reader expects: the member's name.
struct shape_error {
  std::string where;
};

/// Member `key` of object `obj`; the others also check its type. All throw shape_error.
const json::value& member(const json::value& obj, const char* key);
const json::value& object_member(const json::value& obj, const char* key);
std::string text(const json::value& data, const char* key);
int int32(const json::value& data, const char* key);
int64_t int64(const json::value& data, const char* key);
bool boolean(const json::value& data, const char* key);
/// The member as compact JSON text (any JSON value).
std::string compact(const json::value& data, const char* key);
std::vector<std::string> texts(const json::value& data, const char* key);
/// text(), or "" when the member is absent.
std::string optional_text(const json::value& obj, const char* key);

/// An event type and the reader of its payload from `data` (throws shape_error).
struct catalog_entry {
  const char* name;
  payload (*read)(const json::value& data);
};

/// The catalog entry of a type name ("PlanGenerated"), nullptr for an unknown type.
const catalog_entry* find_type(std::string_view name);

} // namespace eventide::events::detail
