// produce: appends one raw record (a file's bytes or stdin) to a topic.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "commands.hpp"
#include "log_io.hpp"

namespace eventide::cli {

// Appends one raw record (any bytes) to a topic: kcat's job for the embedded log.
int run_produce(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (cl.positionals.size() != 3)
    throw usage_error{"usage: eventide produce TOPIC KEY VALUE_FILE (- for stdin)"};
  std::string value;
  if (cl.positionals[2] == "-") {
    value.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(cl.positionals[2], std::ios::binary);
    if (!in)
      throw usage_error{"cannot read " + cl.positionals[2]};
    value.assign(std::istreambuf_iterator<char>(in), {});
  }
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  auto topic = cfg.topic_prefix + cl.positionals[0];
  auto at = produce_one(*log, topic, cl.positionals[1], value);
  if (!at)
    die(exit_failed, at.error());
  std::cout << topic << "/" << at->partition << "@" << at->offset << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
