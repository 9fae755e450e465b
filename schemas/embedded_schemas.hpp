// The *.schema.json files, embedded at build time by embed_schemas.cmake (which generates the
// definitions). Names are file names without ".schema.json": "envelope", "plan", "PlanGenerated".
#pragma once

#include <cstddef>

namespace eventide::events::detail {

struct embedded_schema {
  const char* name;
  const char* text;
};

extern const embedded_schema embedded_schemas[];
extern const size_t embedded_schema_count;

} // namespace eventide::events::detail
