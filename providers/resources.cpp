// Where bundled data (products/, config/, prompts/, schemas/) is found at run time.
#include <cstdlib>
#include <string>

#include "providers/tool.hpp"

namespace eventide::providers {

std::string resource_root() {
  // An installed binary points EVENTIDE_HOME at its data; a dev build uses its source tree.
  const char* home = std::getenv("EVENTIDE_HOME");
  if (home != nullptr && *home != '\0')
    return home;
  return EVENTIDE_SOURCE_DIR;
}

} // namespace eventide::providers
