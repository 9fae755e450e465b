#include "core/crash_spec.hpp"

#include <charconv>

namespace eventide::core {

const std::vector<std::string>& crash_site_names() {
  static const std::vector<std::string> names{"before-effect",  "after-effect", "after-produce",
                                              "after-snapshot", "mid-restore",  "after-result",
                                              "before-commit"};
  return names;
}

outcome<crash_spec> parse_crash_spec(std::string_view text) {
  auto colon = text.find(':');
  auto point = text.substr(0, colon);
  crash_spec spec{crash_site::before_effect, 1};
  const auto& names = crash_site_names();
  size_t i = 0;
  while (i < names.size() && names[i] != point)
    ++i;
  if (i == names.size()) {
    std::string known;
    for (auto& n : names)
      known += (known.empty() ? "" : ", ") + n;
    return fail("unknown crash point '" + std::string(point) + "' (known: " + known + ")");
  }
  spec.site = static_cast<crash_site>(i);
  if (colon != std::string_view::npos) {
    auto n = text.substr(colon + 1);
    auto [end, err] = std::from_chars(n.data(), n.data() + n.size(), spec.nth);
    if (n.empty() || err != std::errc{} || end != n.data() + n.size() || spec.nth == 0)
      return fail("crash point hit count must be a positive integer, got '" + std::string(n) + "'");
  }
  return spec;
}

outcome<record_crash_spec> parse_record_crash_spec(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return fail("expected <group>:<substring>, got '" + std::string(text) + "'");
  return record_crash_spec{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

} // namespace eventide::core
