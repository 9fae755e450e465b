// The options as CAF config: the [eventide] option group, argv splitting, the deployment file,
// and the checks on every value.
#pragma once

#include <caf/actor_system_config.hpp>

#include "options.hpp"

namespace eventide::cli {

/// The actor system's config holding the option values, bound to the [eventide] group.
struct config : caf::actor_system_config, options {
  config();

  const caf::config_option_set& eventide_options() const { return custom_options_; }
};

/// Splits argv[2...], validating option names against cfg's option set so that a typo is one
/// clear line instead of a silently ignored flag.
command_line split_args(int argc, char** argv, const config& cfg);

/// Loads the deployment file and the command line into cfg; every error is one clear line.
void load_config(config& cfg, const command_line& cl);

} // namespace eventide::cli
