// What every role does to write to the log: build an event, publish a batch through the node's
// producer bridge, and complete a record handler (or log a failure) once it is durable.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/fwd.hpp"
#include "actors/logging.hpp"

namespace eventide {

/// An event of `conversation` caused by event `causation`, with a deterministic id
/// (core/event_ids.hpp) and the time `time_ms` (the current time when negative).
events::event make_event(const std::string& conversation, const std::string& source,
                         const std::string& causation, events::payload p,
                         int64_t time_ms = -1);

/// Completion of an emit: a default error once every event is durable, else the first error.
using done_fn = std::function<void(const caf::error&)>;

/// Publishes `evs` in order (the producer handles requests FIFO) and calls `done` once all are
/// durable (with a default error) or with the first error.
template <class Self>
void publish_all(Self* self, const producer_actor& producer, std::vector<events::event> evs,
                 done_fn done) {
  if (evs.empty()) {
    done(caf::error{});
    return;
  }
  auto remaining = std::make_shared<size_t>(evs.size());
  auto failed = std::make_shared<bool>(false);
  for (auto& e : evs) {
    EV_LOG(debug) << "emit " << events::type_name(e.data) << " conversationId=" << e.subject
                  << " id=" << e.id;
    self->request(producer, caf::infinite, publish_atom::value, std::move(e))
      .then(
        [=](const storage::position&) {
          if (--*remaining == 0 && !*failed)
            done(caf::error{});
        },
        [=](caf::error& err) {
          if (!*failed) {
            *failed = true;
            done(err);
          }
        });
  }
}

/// Completion for a record handler: answers the bridge's request.
done_fn reply_to(caf::typed_response_promise<caf::ok_atom> rp);

/// Completion for emits nobody waits for (going live, timers): failures are logged.
done_fn log_failure(std::string what);

/// Going live: runs `emit(id, done)` for each of `ids` (their failures logged as `what` with the
/// conversation id) and answers `rp` once every one is done.
void emit_each_then_reply(const std::vector<std::string>& ids, const std::string& what,
                          const std::function<void(const std::string& id, done_fn done)>& emit,
                          caf::typed_response_promise<caf::ok_atom> rp);

} // namespace eventide
