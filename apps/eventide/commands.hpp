// The commands of `eventide`, one file each; main.cpp's table maps their names to these.
#pragma once

#include "options.hpp"

namespace eventide::cli {

int run_ask(config& cfg, const command_line& cl);
int run_resume(config& cfg, const command_line& cl);
int run_node(config& cfg, const command_line& cl);
int run_dlq(config& cfg, const command_line& cl);
int run_trace(config& cfg, const command_line& cl);
int run_ledger(config& cfg, const command_line& cl);
int run_produce(config& cfg, const command_line& cl);
int run_stats(config& cfg, const command_line& cl);
int run_dump(config& cfg, const command_line& cl);
/// Needs no config: prints the role names, one a line.
int run_roles();

} // namespace eventide::cli
