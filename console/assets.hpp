// The console's page, script and style (console/assets/), compiled into the binary by
// embed_assets.cmake: served from memory, so the console works offline and from any directory.
#pragma once

#include <optional>
#include <string_view>

namespace eventide::console {

struct asset {
  std::string_view content_type;
  std::string_view body;
};

/// The asset named exactly `name` ("index.html", "app.js", "style.css"); nullopt for any other
/// name (no file system lookup: "../x" is simply not a name).
std::optional<asset> find_asset(std::string_view name);

} // namespace eventide::console
