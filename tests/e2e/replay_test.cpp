// Replays of a long log: the orchestrator's state after reading it (the first time, and again
// after its store was lost) equals what the fold computed while the log was written, with
// thousands of records in flight at once while the role restores
// (consumer_bridge_config::max_in_flight_restoring). A lost-store replay that passed over one
// record in a thousand made it fail.
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>
#include <caf/all.hpp>

#include "actors/bridges.hpp"
#include "actors/logging.hpp"
#include "actors/node.hpp"
#include "providers/tool.hpp"
#include "storage/embedded_log.hpp"
#include "tests/generated_log.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;

namespace {

// Starts an orchestrator-only node on `log`, waits until it restored and runs live, returns
// its state digest and stops it.
std::string digest_after_restore(caf::actor_system& sys, std::shared_ptr<storage::log> log,
                                 const std::string& dir) {
  node_options o;
  o.roles = {"orchestrator"};
  o.data_dir = dir;
  o.resources = providers::resource_root();
  node n{sys, log, o};
  REQUIRE(n.start());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!n.orchestrator_live() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(n.orchestrator_live());
  auto d = n.orchestrator_digest();
  REQUIRE(d);
  n.stop();
  return *d;
}

} // namespace

TEST_CASE("e2e: a long log replayed with thousands of records in flight ends in the state it was written with") {
  testing::temp_dir dir;
  storage::embedded_options eo;
  eo.dir = dir.path + "/log";
  auto opened = storage::open_embedded_log(eo);
  REQUIRE(opened);
  std::shared_ptr<storage::log> log = std::move(*opened);
  // ~550 conversations, 55 of them running: 47 poll batches. Written now,
  // under the default policy like the node's: no running step's deadline passes during the test.
  auto g = testing::generate_log(*log, topics(""), 6000, 10, now_ms());
  REQUIRE(g.running > 50);
  const auto expected = g.digest();
  init_logging("error");
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  tune_scheduler(cfg);
  caf::actor_system sys{cfg};
  // Nothing committed: every record validated, the first time it is read.
  CHECK(digest_after_restore(sys, log, dir.path) == expected);
  // The store lost: what the group handled is read again without validation.
  std::filesystem::remove_all(dir.path + "/orchestrator-store");
  CHECK(digest_after_restore(sys, log, dir.path) == expected);
}
