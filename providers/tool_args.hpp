// Tool arguments: every tool takes one JSON object.
#pragma once

#include <string>

#include "core/json.hpp"

namespace eventide::providers {

/// The args object, or why it is not one ("<tool>: args are not JSON: ...", "<tool>: args hold
/// a NUL character at /expression"). Records with a NUL are refused at decode already; this
/// keeps a C-string reader of an argument from cutting "2+3\u0000*1000" to "2+3" whatever
/// the args came from.
inline outcome<json::document> parse_tool_args(const std::string& tool,
                                               const std::string& args_json) {
  auto doc = json::parse(args_json);
  if (!doc)
    return fail(tool + ": args are not JSON: " + doc.error());
  if (!doc->IsObject())
    return fail(tool + ": args must be a JSON object");
  if (auto at = json::find_nul(*doc))
    return fail(tool + ": args hold a NUL character at " + *at);
  return std::move(doc).value();
}

} // namespace eventide::providers
