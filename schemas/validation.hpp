// Validation against the embedded JSON Schemas (draft-04). The schemas are compiled once, on
// first use, and shared by all threads; each call uses its own validator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/outcome.hpp"

namespace eventide::events {

/// Names of the embedded schemas: one per event type ("PlanGenerated", ...) plus "envelope"
/// and "plan", sorted.
std::vector<std::string> schema_names();

bool has_schema(std::string_view name);

/// Validates `v` against the embedded schema `name` (e.g. "plan" for a planner's output).
/// `where` is prepended to the reported JSON pointer ("/data" when `v` is an event's data).
/// Failure: "schema violation at /data/plan/steps/0: missing required property 'tool'";
/// every message names the offending location and the schema keyword.
outcome<void> validate(std::string_view name, const json::value& v, std::string_view where = "");

/// The envelope's `dataschema` for a type: "schemas/PlanGenerated.schema.json".
std::string dataschema_for(std::string_view type);

} // namespace eventide::events
