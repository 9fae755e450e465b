#include "actors/emit.hpp"

#include <chrono>

#include "actors/bridges.hpp"
#include "actors/error.hpp"
#include "core/event_ids.hpp"

namespace eventide {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

events::event make_event(const std::string& conversation, const std::string& source,
                         const std::string& causation, events::payload p, int64_t time_ms) {
  events::event e;
  e.id = core::deterministic_id(conversation, p);
  e.source = source;
  e.time_ms = time_ms < 0 ? now_ms() : time_ms;
  e.subject = conversation;
  e.causation_id = causation;
  e.data = std::move(p);
  return e;
}

done_fn reply_to(caf::typed_response_promise<caf::ok_atom> rp) {
  return [rp](const caf::error& err) mutable {
    if (err)
      rp.deliver(err);
    else
      rp.deliver(caf::ok_atom::value);
  };
}

done_fn log_failure(std::string what) {
  return [what](const caf::error& err) {
    if (err)
      EV_LOG(error) << what << ": " << describe(err);
  };
}

void emit_each_then_reply(const std::vector<std::string>& ids, const std::string& what,
                          const std::function<void(const std::string& id, done_fn done)>& emit,
                          caf::typed_response_promise<caf::ok_atom> rp) {
  auto pending = std::make_shared<size_t>(ids.size() + 1);
  auto one_done = [rp, pending]() mutable {
    if (--*pending == 0)
      rp.deliver(caf::ok_atom::value);
  };
  for (auto& id : ids) {
    auto logged = log_failure(what + " conversationId=" + id);
    emit(id, [logged, one_done](const caf::error& err) mutable {
      logged(err);
      one_done();
    });
  }
  one_done();
}

} // namespace eventide
