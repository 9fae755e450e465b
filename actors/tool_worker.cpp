#include "actors/tool_worker.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "actors/crash_point.hpp"
#include "actors/emit.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "core/answer_folds.hpp"
#include "schemas/codec.hpp"

namespace eventide {

using caf::ok_atom;

tool_runner_actor::behavior_type
tool_runner(tool_runner_actor::stateful_pointer<tool_runner_state> self,
            std::shared_ptr<providers::tool> tool_ptr, std::shared_ptr<storage::kv_store> ledger,
            std::string source) {
  // Each runner owns its tool instance: tools need not be thread-safe.
  self->state.ledger = std::move(ledger);
  self->state.source = std::move(source);
  return {
    [self, tool_ptr](run_atom, const events::event& req_ev) -> caf::result<events::event> {
      auto& st = self->state;
      const auto& req = std::get<events::tool_invocation_requested>(req_ev.data);
      auto key = "r/" + req.invocation_id;
      auto recorded = st.ledger->get(key);
      if (!recorded)
        return make_error(ec::handler_failed, recorded.error());
      std::optional<core::ledger_entry> entry;
      std::optional<events::event> recorded_ev;
      if (*recorded) {
        // Only a result recorded for this very conversation and invocation answers it. Decode
        // refuses a request whose invocation id belongs to another conversation, so none is
        // recorded any more; an entry written before that check (or a corrupt one) is ignored,
        // and the tool runs and records this conversation's result.
        auto ev = events::decode(**recorded);
        auto r = ev ? std::get_if<events::tool_invocation_resulted>(&ev->data) : nullptr;
        if (r && ev->subject == req_ev.subject && r->invocation_id == req.invocation_id) {
          entry = core::ledger_entry{r->attempt, r->ok, r->retryable};
          recorded_ev = std::move(*ev);
        } else {
          EV_LOG(warning) << "ignoring ledger entry " << key << " for conversationId="
                          << req_ev.subject << ": "
                          << (!ev ? ev.error() : "recorded for conversation " + ev->subject);
        }
      }
      if (!core::should_execute(entry, req.attempt)) {
        EV_LOG(info) << "duplicate request conversationId=" << req_ev.subject
                     << " invocationId=" << req.invocation_id << ": answering from ledger";
        return *recorded_ev;
      }
      crash_point(core::crash_site::before_effect, req.invocation_id.c_str());
      auto started = std::chrono::steady_clock::now();
      auto out = tool_ptr->run(req.invocation_id, req.attempt, req.args_json);
      crash_point(core::crash_site::after_effect, req.invocation_id.c_str());
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started).count();
      events::tool_invocation_resulted res{req.invocation_id, req.attempt, req.step_id, req.tool,
                                           out.ok, out.result_json, out.error, out.retryable, ms,
                                           req.turn};
      auto ev = make_event(req_ev.subject, st.source, req_ev.id, res);
      auto bytes = events::encode(ev);
      if (!bytes) {
        // The tool returned something the schema rejects: report it as a permanent error.
        auto& r = std::get<events::tool_invocation_resulted>(ev.data);
        r.ok = false;
        r.result_json = "null";
        r.error = "tool produced an invalid result: " + bytes.error();
        r.retryable = false;
        bytes = events::encode(ev);
        if (!bytes)
          return make_error(ec::invalid_event, bytes.error());
      }
      if (auto w = st.ledger->put({{key, *bytes}}); !w)
        return make_error(ec::handler_failed, w.error());
      EV_LOG(info) << "executed " << req.tool << " conversationId=" << req_ev.subject
                   << " invocationId=" << req.invocation_id << " attempt=" << req.attempt
                   << " ok=" << out.ok << " ms=" << ms;
      return ev;
    },
  };
}

role_actor::behavior_type worker(role_actor::stateful_pointer<worker_state> self,
                                 std::string tool, std::vector<tool_runner_actor> runners,
                                 producer_actor producer) {
  self->state.tool = std::move(tool);
  self->state.runners = std::move(runners);
  self->state.producer = std::move(producer);
  return {
    [self](inbound& in) -> caf::result<ok_atom> {
      auto& st = self->state;
      auto req = std::get_if<events::tool_invocation_requested>(&in.ev.data);
      if (!req || req->tool != st.tool)
        return ok_atom::value;
      auto rp = self->make_response_promise<ok_atom>();
      auto runner = st.runners[st.next++ % st.runners.size()];
      self->request(runner, caf::infinite, run_atom::value, std::move(in.ev))
        .then(
          [self, rp](events::event& result) mutable {
            publish_all(self, self->state.producer, {std::move(result)}, reply_to(rp));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [](restore_atom) {},
    [](live_atom, const std::vector<int32_t>&) { return caf::ok_atom::value; },
    [](revoke_atom, const std::vector<int32_t>&) {},
  };
}

outcome<role_actor> spawn_worker(caf::actor_system& sys, const std::string& tool,
                                 providers::tool_factory& tools, size_t concurrency,
                                 std::shared_ptr<storage::kv_store> ledger, std::string source,
                                 producer_actor producer, std::vector<caf::actor>& spawned) {
  std::vector<tool_runner_actor> runners;
  for (size_t i = 0; i < std::max<size_t>(1, concurrency); ++i) {
    auto made = tools.make(tool);
    if (!made)
      return fail(made.error());
    std::shared_ptr<providers::tool> instance = std::move(*made);
    // Tools that call HTTP block: their runners get a thread each. Offline tools compute
    // in microseconds and run on the scheduler (a thread wake-up per request saved).
    runners.push_back(instance->may_block()
                        ? sys.spawn<caf::detached>(tool_runner, instance, ledger, source)
                        : sys.spawn(tool_runner, instance, ledger, source));
    spawned.push_back(caf::actor_cast<caf::actor>(runners.back()));
  }
  return sys.spawn(worker, tool, std::move(runners), std::move(producer));
}

} // namespace eventide
