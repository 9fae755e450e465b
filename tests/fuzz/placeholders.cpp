// Fuzz target "placeholders": core::resolve_placeholders and core::referenced_steps on a step's
// args, with the results of earlier steps (json::find_path does the path lookups).
// Input: ARGS_JSON [0x1F RESULTS_OBJECT [0x1F EXTRA_IDS]] where RESULTS_OBJECT maps step ids to
// their results (each becomes that step's result JSON text, in plan order) and EXTRA_IDS is a
// comma-separated list of steps with no result yet. Properties: args without "{{" come back
// byte for byte; any other success is valid JSON.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/placeholders.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace eventide;

namespace {
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos)
      return out;
    s.remove_prefix(at + 1);
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = split(std::string_view(reinterpret_cast<const char*>(data), size), '\x1f');
  std::string_view args = parts[0];
  std::map<std::string, std::string> results;
  std::vector<std::string> ids;
  if (parts.size() > 1) {
    auto doc = json::parse(parts[1]);
    if (doc && doc->IsObject())
      for (const auto& m : doc->GetObject()) {
        std::string id(m.name.GetString(), m.name.GetStringLength());
        ids.push_back(id);
        results[id] = json::dump(m.value);
      }
  }
  if (parts.size() > 2)
    for (auto id : split(parts[2], ','))
      ids.emplace_back(id);

  (void)core::referenced_steps(args, ids);
  auto resolved = core::resolve_placeholders(args, results, ids);
  if (!resolved)
    return 0;
  if (args.find("{{") == std::string_view::npos) {
    FUZZ_CHECK(resolved.value() == args, "args without placeholders come back unchanged");
  } else {
    auto out = json::parse(resolved.value());
    FUZZ_CHECK(out.ok(), "resolved args are valid JSON: " + out.error());
  }
  return 0;
}
