// Atoms, message types and typed actor interfaces of every role (one place, as Tenzir does).
// Roles never message each other: these interfaces connect actors *inside* one role (bridge ->
// role handler -> per-conversation actor) and a role to its node's producer bridge.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "model/events.hpp"
#include "storage/log.hpp"

namespace eventide {

/// A decoded record as a consumer bridge hands it to a role.
struct inbound {
  events::event ev;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  // Below the group's committed offset at assignment: handled (or dead-lettered) before. A
  // role that refuses a record returns an error (the bridge dead-letters it) only when false.
  bool replayed = false;
};

} // namespace eventide

// In-process only: nodes never send these over the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventide::inbound)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventide::events::event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(eventide::storage::position)

namespace eventide {

using publish_atom = caf::atom_constant<caf::atom("publish")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
using notified_atom = caf::atom_constant<caf::atom("notified")>;
using serve_atom = caf::atom_constant<caf::atom("serve")>;
using live_atom = caf::atom_constant<caf::atom("live")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using digest_atom = caf::atom_constant<caf::atom("digest")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using health_atom = caf::atom_constant<caf::atom("health")>;

/// The node's producer bridge: the only writer to the log.
using producer_actor = caf::typed_actor<
  // Validates and encodes an event, appends it to its type's topic; replies when durable.
  caf::replies_to<publish_atom, events::event>::with<storage::position>,
  // Appends raw bytes to a topic (dead letters, redrive); replies when durable.
  caf::replies_to<publish_atom, std::string, std::string, std::string>::with<storage::position>,
  // Runs pending delivery callbacks of asynchronous backends.
  caf::reacts_to<serve_atom>,
  // JSON object: records produced, failed, pending, the last failure.
  caf::replies_to<health_atom>::with<std::string>>;

/// A role's entry point, fed by its consumer bridge.
using role_actor = caf::typed_actor<
  // Handles one record; replies once its effects are durable. An error sends it to the DLQ.
  caf::replies_to<inbound>::with<caf::ok_atom>,
  // Restore mode: fold records without emitting (replaying the log on assignment).
  caf::reacts_to<restore_atom>,
  // Caught up with the log on these (assigned) partitions: emit whatever the restored state
  // implies, then run live. Replies once what it emitted is durable (or failed: logged), so
  // that the bridge commits it with the offsets (exactly-once) before the next rebalance.
  caf::replies_to<live_atom, std::vector<int32_t>>::with<caf::ok_atom>,
  // These partitions (of every topic the role reads) moved to another group member: forget
  // their conversations; the new owner restores them from the log.
  caf::reacts_to<revoke_atom, std::vector<int32_t>>>;

/// The orchestrator's registry: a role that also hears when a conversation actor is idle.
using orchestrator_actor = role_actor::extend<
  // A conversation's actor may go: it finished (wake-up time -1), or it is idle and its state is
  // in the store (restore it at the wake-up time, ms since epoch, 0 = only on its next record).
  // The count is the records it handled: an idle actor goes only if none is still queued.
  caf::reacts_to<passivate_atom, std::string, int64_t, uint64_t>,
  // Passivated conversations with a due wake-up (retry backoff, deadline) are restored.
  caf::reacts_to<tick_atom>,
  // One line per conversation, "<id> <digest of its fold>", sorted; finished ones as "done".
  caf::replies_to<digest_atom>::with<std::string>>;

/// One orchestrator actor per live conversation.
using conversation_actor = caf::typed_actor<
  // Folds one record of the conversation; when live, emits what it implies, then replies.
  caf::replies_to<inbound>::with<caf::ok_atom>,
  // Switches to restore mode (records are folded, snapshots deferred).
  caf::reacts_to<restore_atom>,
  // Goes live: persists a deferred snapshot (replies once it is in the store, or with the
  // store's error), then emits what the state implies.
  caf::replies_to<live_atom>::with<caf::ok_atom>,
  // A retry backoff or request deadline may have passed.
  caf::reacts_to<tick_atom>,
  // The idle check: passivate if quiet for passivate_after_ms and persisted, else look again.
  caf::reacts_to<idle_atom>,
  // The registry stopped routing to this actor: quit after the queued records.
  caf::reacts_to<stop_atom>,
  // Canonical text of the conversation's fold (replay == live check).
  caf::replies_to<digest_atom>::with<std::string>>;

/// A worker's tool runner (detached: tools may block on I/O).
using tool_runner_actor = caf::typed_actor<
  // Executes a ToolInvocationRequested unless the ledger has it; returns the result event.
  caf::replies_to<run_atom, events::event>::with<events::event>>;

/// The metrics role (actors/metrics_role.hpp): folds the whole log into core::metrics_fold.
using metrics_actor = caf::typed_actor<
  // Reads the next batch (and, every few seconds, consumer lag), then sends itself this again.
  caf::reacts_to<poll_atom>,
  // The report as JSON: core::metrics_json plus "live", "records", "lastError".
  caf::replies_to<health_atom>::with<std::string>>;

} // namespace eventide
