// ledger: the workers' ledger, the result recorded per invocation id (node stopped).
#include <filesystem>
#include <iostream>

#include "storage/kv_store.hpp"
#include "commands.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

// The workers' ledger: the result recorded per invocation id (what a duplicate request is
// answered with). It says what was recorded, not how often a tool ran: a crash after a tool's
// effect and before its ledger write runs the tool again (README "Crash points").
int run_ledger(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (!cl.positionals.empty())
    throw usage_error{"usage: eventide ledger [--data-dir DIR]"};
  auto dir = cfg.data_dir + "/worker-ledger";
  if (!std::filesystem::exists(dir))
    die(exit_failed, "no worker ledger at " + dir);
  auto kv = storage::kv_store::open(dir);
  if (!kv)
    die(exit_failed, kv.error());
  size_t n = 0;
  auto r = (*kv)->scan("r/", [&](const std::string& k, const std::string& v) {
    std::cout << k.substr(2);
    if (auto ev = events::decode(v); ev) {
      if (auto res = std::get_if<events::tool_invocation_resulted>(&ev->data))
        std::cout << " attempt=" << res->attempt << " " << (res->ok ? "ok" : "error");
    } else {
      std::cout << " unreadable: " << ev.error();
    }
    std::cout << "\n";
    ++n;
  });
  if (!r)
    die(exit_failed, r.error());
  std::cout << n << " recorded result" << (n == 1 ? "" : "s") << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
