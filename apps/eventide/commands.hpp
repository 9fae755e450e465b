// The commands of `eventide`, one file each; main.cpp's table maps their names to these.
#pragma once

#include <caf/fwd.hpp>

#include "options.hpp"

namespace eventide::cli {

// Each command gets the option values, its command line, and the actor system's config (used
// only by the commands that run a node: ask, resume, node); it returns the exit status.
int run_ask(const options& cfg, const command_line& cl, caf::actor_system_config& system_config);
int run_chat(const options& cfg, const command_line& cl, caf::actor_system_config& system_config);
int run_resume(const options& cfg, const command_line& cl,
               caf::actor_system_config& system_config);
int run_node(const options& cfg, const command_line& cl, caf::actor_system_config& system_config);
int run_dlq(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_trace(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_ledger(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_produce(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_stats(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_dump(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_compensations(const options& cfg, const command_line& cl,
                      caf::actor_system_config& system_config);
int run_approvals(const options& cfg, const command_line& cl, caf::actor_system_config&);
int run_approve(const options& cfg, const command_line& cl, caf::actor_system_config& system_config);
int run_reject(const options& cfg, const command_line& cl, caf::actor_system_config& system_config);
int run_cancel(const options& cfg, const command_line& cl, caf::actor_system_config& system_config);
int run_console(const options& cfg, const command_line& cl,
                caf::actor_system_config& system_config);
int run_shop(const options& cfg, const command_line& cl, caf::actor_system_config&);
/// Needs no config: prints the role names, one a line.
int run_roles();

} // namespace eventide::cli
