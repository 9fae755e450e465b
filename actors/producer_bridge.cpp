// The producer bridge (actors/bridges.hpp): the one writer of a node, or of a role with a
// transactional handle; answers each publish once the log has the record.
#include "actors/bridges.hpp"

#include <chrono>
#include <map>
#include <mutex>

#include "actors/crash_point.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "core/json.hpp"
#include "schemas/codec.hpp"
#include "schemas/decode_memo.hpp"

namespace eventide {

namespace {

// Response promises of the records whose delivery report has not come yet. The log holds each
// delivery callback until the report comes (on Kafka: an acknowledgement, or never while the
// broker is down); a callback reaches its promise through a weak pointer only. A promise held
// by the callback kept the detached producer alive, and an actor system stopping with a record
// still in flight waited for it forever (the log is closed after the actor system).
// Guarded by a mutex: callbacks normally run on the producer's thread (serve()), but a
// transactional handle's commit flushes, and a flush runs them on the committing bridge's.
struct pending_deliveries {
  std::mutex mu;
  uint64_t next = 0;
  std::map<uint64_t, caf::typed_response_promise<storage::position>> promises;
  size_t pending = 0; // records whose delivery callback has not run yet
  uint64_t produced = 0, failed = 0;
  std::string last_error; // "<time ms> <reason>" of the last failed delivery
};

struct producer_state {
  std::shared_ptr<storage::log> log;
  std::string prefix;
  std::shared_ptr<pending_deliveries> deliveries = std::make_shared<pending_deliveries>();
  bool serving = false;
  static inline constexpr const char* name = "producer-bridge";
};

producer_actor::behavior_type
producer(producer_actor::stateful_pointer<producer_state> self,
         std::shared_ptr<storage::log> log, std::string prefix) {
  self->state.log = std::move(log);
  self->state.prefix = std::move(prefix);
  // Appends and answers `rp` from the delivery callback; asynchronous backends need serve().
  auto append = [self](const std::string& topic, const std::string& key, std::string value,
                       const storage::record_headers& headers,
                       caf::typed_response_promise<storage::position> rp) {
    auto& st = self->state;
    uint64_t id = 0;
    {
      std::lock_guard<std::mutex> lk(st.deliveries->mu);
      ++st.deliveries->pending;
      id = st.deliveries->next++;
      st.deliveries->promises.emplace(id, std::move(rp));
    }
    std::weak_ptr<pending_deliveries> weak = st.deliveries;
    st.log->produce_with_headers(topic, key, std::move(value), headers,
                    [weak, id, topic](outcome<storage::position> r) {
                      auto table = weak.lock();
                      if (!table)
                        return; // the producer is gone (its state with it)
                      caf::typed_response_promise<storage::position> rp;
                      {
                        std::lock_guard<std::mutex> lk(table->mu);
                        auto it = table->promises.find(id);
                        if (it == table->promises.end())
                          return;
                        rp = std::move(it->second);
                        table->promises.erase(it);
                        --table->pending;
                        if (r) {
                          ++table->produced;
                        } else {
                          ++table->failed;
                          table->last_error = std::to_string(now_ms()) + " " + topic + ": " + r.error();
                        }
                      }
                      if (r) {
                        crash_point(core::crash_site::after_produce, topic.c_str());
                        rp.deliver(*r);
                      } else {
                        EV_LOG(error) << "produce failed topic=" << topic << ": " << r.error();
                        rp.deliver(make_error(ec::produce_failed, topic + ": " + r.error()));
                      }
                    });
    bool waiting = false; // (an inline delivery, as on the embedded log, has run already)
    {
      std::lock_guard<std::mutex> lk(st.deliveries->mu);
      waiting = st.deliveries->pending > 0;
    }
    if (waiting && !st.serving) {
      st.serving = true;
      self->send(self, serve_atom::value);
    }
  };
  return {
    [self, append](publish_atom, const events::event& ev) -> caf::result<storage::position> {
      auto bytes = events::encode(ev);
      if (!bytes) {
        EV_LOG(error) << "refusing to produce invalid event conversationId=" << ev.subject
                      << " id=" << ev.id << ": " << bytes.error();
        return make_error(ec::invalid_event, bytes.error());
      }
      events::note_encoded(*bytes); // this process's readers need not validate it again
      auto rp = self->make_response_promise<storage::position>();
      append(self->state.prefix + events::topic_of(ev.data), ev.subject, std::move(*bytes),
             events::cloudevents_headers(ev), rp);
      return rp;
    },
    [self, append](publish_atom, const std::string& topic, const std::string& key,
                   std::string& value) -> caf::result<storage::position> {
      auto rp = self->make_response_promise<storage::position>();
      append(topic, key, std::move(value), {}, rp);
      return rp;
    },
    [self](serve_atom) {
      // Never wait inside serve(): while it waits, publish requests queue up behind it and
      // every record on the critical path would pay up to the wait. Delivery reports are not
      // on that path, so collecting them every millisecond is enough.
      auto& st = self->state;
      st.log->serve(std::chrono::milliseconds(0));
      size_t pending = 0;
      {
        std::lock_guard<std::mutex> lk(st.deliveries->mu);
        pending = st.deliveries->pending;
      }
      if (pending > 0)
        self->delayed_send(self, std::chrono::milliseconds(1), serve_atom::value);
      else
        st.serving = false;
    },
    [self](health_atom) {
      auto& t = *self->state.deliveries;
      std::lock_guard<std::mutex> lk(t.mu);
      json::document d;
      d.SetObject();
      auto& a = d.GetAllocator();
      d.AddMember("produced", t.produced, a);
      d.AddMember("failed", t.failed, a);
      d.AddMember("pending", static_cast<uint64_t>(t.pending), a);
      d.AddMember("lastError", json::str(t.last_error, a), a);
      return json::dump(d);
    },
  };
}

} // namespace

producer_actor spawn_producer(caf::actor_system& sys, std::shared_ptr<storage::log> log,
                              std::string topic_prefix) {
  // A log that delivers inline (the embedded one: a RocksDB write) never makes the producer
  // wait, so it runs on the scheduler and saves a thread wake-up per event.
  if (log->delivers_inline())
    return sys.spawn(producer, std::move(log), std::move(topic_prefix));
  return sys.spawn<caf::detached>(producer, std::move(log), std::move(topic_prefix));
}

} // namespace eventide
