// Fuzz target "plan": core::parse_plan, the validation every plan passes before it runs (shape,
// known tools and args, unique ids, dependencies explicit and implied by placeholders, cycle
// detection). Properties: an accepted plan has 1..20 steps with known tools, object args and
// dependencies on other existing steps only, and it also passes the "plan" JSON Schema (so
// PlanGenerated can carry it), unless an object repeats a member name: parse_plan reads the
// first "id" while the schema checks every one (the open "duplicate keys" item of the README's
// hostile-input list; this target found it, tests/fuzz/seeds/plan/duplicate-step-id.json).
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "schemas/validation.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace eventide;

namespace {
bool repeats_a_member(const json::value& v) {
  if (v.IsArray())
    return std::any_of(v.Begin(), v.End(), repeats_a_member);
  if (!v.IsObject())
    return false;
  std::set<std::string_view> names;
  for (const auto& m : v.GetObject())
    if (!names.emplace(m.name.GetString(), m.name.GetStringLength()).second
        || repeats_a_member(m.value))
      return true;
  return false;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = core::parse_plan(text);
  if (!parsed)
    return 0;
  const core::plan& plan = parsed.value();
  FUZZ_CHECK(!plan.steps.empty() && plan.steps.size() <= 20, "step count");
  std::vector<std::string> ids;
  for (const auto& s : plan.steps)
    ids.push_back(s.id);
  for (const auto& s : plan.steps) {
    FUZZ_CHECK(core::find_tool(s.tool) != nullptr, "unknown tool " + s.tool);
    auto args = json::parse(s.args_json);
    FUZZ_CHECK(args && args->IsObject(), "args of " + s.id);
    for (const auto& d : s.depends_on)
      FUZZ_CHECK(d != s.id && std::count(ids.begin(), ids.end(), d) == 1, "dependency " + d);
  }
  auto doc = json::parse(text);
  FUZZ_CHECK(doc.ok(), "an accepted plan parses");
  if (repeats_a_member(doc.value()))
    return 0;
  auto valid = events::validate("plan", doc.value());
  FUZZ_CHECK(valid.ok(), "an accepted plan passes the plan schema: " + valid.error());
  return 0;
}
