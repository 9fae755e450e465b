// Tool arguments: every tool takes one JSON object.
#pragma once

#include <string>

#include "core/json.hpp"

namespace eventide::providers {

/// The args object, or why it is not one ("<tool>: args are not JSON: ...").
inline outcome<json::document> parse_tool_args(const std::string& tool,
                                               const std::string& args_json) {
  auto doc = json::parse(args_json);
  if (!doc)
    return fail(tool + ": args are not JSON: " + doc.error());
  if (!doc->IsObject())
    return fail(tool + ": args must be a JSON object");
  return std::move(doc).value();
}

} // namespace eventide::providers
