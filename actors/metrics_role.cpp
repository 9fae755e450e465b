#include "actors/metrics_role.hpp"

#include <limits>
#include <optional>
#include <unordered_set>

#include "actors/bridges.hpp"
#include "actors/fwd.hpp"
#include "actors/logging.hpp"
#include "schemas/codec.hpp"
#include "storage/dead_letter.hpp"
#include "core/json.hpp"

namespace eventide {

namespace {

std::string without_prefix(const std::string& name, const std::string& prefix) {
  return name.compare(0, prefix.size(), prefix) == 0 ? name.substr(prefix.size()) : name;
}

} // namespace

std::vector<consumer_group> pipeline_groups(const topics& t) {
  std::vector<consumer_group> groups;
  for (auto& r : role_table())
    if (!r.group.empty())
      groups.push_back({r.group, r.topics_in(t)});
  return groups;
}

std::map<std::string, int64_t> consumer_lag(storage::log& log, const std::string& topic_prefix,
                                            const std::vector<consumer_group>& groups,
                                            std::string* error) {
  auto note = [&](const std::string& what) {
    if (error && error->empty())
      *error = what;
  };
  // Several groups read one topic: ask for each partition's watermarks once per call.
  std::map<std::string, std::vector<std::pair<storage::topic_partition, storage::watermarks>>> marks;
  auto partitions_of = [&](const std::string& topic) -> const auto& {
    auto [it, added] = marks.try_emplace(topic);
    if (!added)
      return it->second;
    auto n = log.partition_count(topic);
    if (!n) {
      note("partitions of " + topic + ": " + n.error());
      return it->second;
    }
    for (int32_t p = 0; p < *n; ++p) {
      storage::topic_partition tp{topic, p};
      if (auto wm = log.query_watermarks(tp))
        it->second.emplace_back(tp, *wm);
      else
        note("watermarks of " + topic + "/" + std::to_string(p) + ": " + wm.error());
    }
    return it->second;
  };
  std::map<std::string, int64_t> lag;
  for (auto& g : groups) {
    int64_t total = 0;
    bool known = false;
    for (auto& topic : g.topics) {
      for (auto& [tp, wm] : partitions_of(topic)) {
        auto committed = log.committed(topic_prefix + g.name, tp);
        if (!committed) {
          note("committed offset of " + g.name + " on " + tp.topic + "/"
               + std::to_string(tp.partition) + ": " + committed.error());
          continue;
        }
        if (*committed)
          known = true;
        total += std::max<int64_t>(0, wm.high - (*committed ? **committed : wm.low));
      }
    }
    if (known)
      lag[g.name] = total;
  }
  return lag;
}

outcome<void> fold_record(core::metrics_fold& fold, const storage::record& rec, const topics& t,
                          const std::string& topic_prefix, const outcome<events::event>* decoded) {
  auto topic = without_prefix(rec.topic, topic_prefix);
  if (rec.topic == t.dead_letters) {
    auto letter = storage::decode_dead_letter(rec.value);
    if (letter) {
      fold.dead_letter(without_prefix(letter->consumer_group, topic_prefix));
      return {};
    }
    // `eventide dlq redrive` records what it re-submitted in the DLQ: not a dead letter.
    if (auto doc = json::parse(rec.value); doc && doc->IsObject() && doc->HasMember("redriveOf"))
      return {};
    fold.undecodable(topic);
    return fail(letter.error());
  }
  std::optional<outcome<events::event>> own;
  if (!decoded)
    decoded = &own.emplace(events::decode(rec.value));
  if (!*decoded) {
    // Counted only: the groups that read this topic dead-letter it themselves.
    fold.undecodable(topic);
    return fail(decoded->error());
  }
  fold.apply(**decoded, topic);
  return {};
}

size_t fold_batch(core::metrics_fold& fold, const std::vector<storage::record>& batch,
                  const topics& t, const std::string& topic_prefix,
                  const std::function<void(const storage::record&, const std::string&)>& on_undecodable,
                  std::vector<std::optional<outcome<events::event>>>* decoded) {
  struct item {
    const storage::record* rec;
    std::optional<outcome<events::event>> ev; // none for dead letters
    int64_t time;                             // event time; undecodable and letters go first
    size_t seq;                               // poll order, to break ties
  };
  std::map<storage::topic_partition, std::vector<item>> runs;
  size_t seq = 0;
  for (auto& rec : batch) {
    item it{&rec, std::nullopt, std::numeric_limits<int64_t>::min(), seq};
    if (decoded && (*decoded)[seq]) {
      it.ev.emplace(std::move(*(*decoded)[seq]));
      if (*it.ev)
        it.time = (*it.ev)->time_ms;
    } else if (rec.topic != t.dead_letters) {
      it.ev.emplace(events::decode(rec.value));
      if (*it.ev)
        it.time = (*it.ev)->time_ms;
    }
    runs[{rec.topic, rec.partition}].push_back(std::move(it));
    ++seq;
  }
  // Ids of this batch's events not folded yet: an event whose cause is among them waits, so
  // that the cause is folded first; otherwise the earliest event goes, then poll order.
  std::unordered_set<std::string> unfolded;
  for (auto& [tp, run] : runs)
    for (auto& it : run)
      if (it.ev && *it.ev)
        unfolded.insert((*it.ev)->id);
  auto waits = [&](const item& it) {
    if (!it.ev || !*it.ev)
      return false;
    const auto& ev = **it.ev;
    return !ev.causation_id.empty() && ev.causation_id != ev.id && unfolded.count(ev.causation_id);
  };
  auto before = [&](const item& a, const item& b) {
    bool wa = waits(a), wb = waits(b);
    if (wa != wb)
      return wb;
    if (a.time != b.time)
      return a.time < b.time;
    return a.seq < b.seq;
  };
  // A k-way merge of the partitions' runs (a handful per batch); each run stays in log order.
  // Causality has no cycles, so some head never waits (unless clocks or ids are odd: then the
  // earliest goes anyway).
  std::vector<std::pair<std::vector<item>*, size_t>> heads;
  for (auto& [tp, run] : runs)
    heads.emplace_back(&run, 0);
  size_t undecodable = 0;
  for (size_t left = batch.size(); left > 0; --left) {
    std::pair<std::vector<item>*, size_t>* best = nullptr;
    for (auto& h : heads) {
      if (h.second == h.first->size())
        continue;
      if (!best || before((*h.first)[h.second], (*best->first)[best->second]))
        best = &h;
    }
    auto& it = (*best->first)[best->second++];
    auto r = fold_record(fold, *it.rec, t, topic_prefix, it.ev ? &*it.ev : nullptr);
    if (!r) {
      ++undecodable;
      on_undecodable(*it.rec, r.error());
    } else if (it.ev) {
      unfolded.erase((*it.ev)->id);
    }
  }
  return undecodable;
}

namespace {

struct metrics_state {
  metrics_role_config cfg;
  std::optional<topics> names;
  std::vector<consumer_group> groups;
  std::unique_ptr<core::metrics_fold> fold;
  core::rate_window rates;
  std::unique_ptr<storage::consumer> consumer;
  std::map<storage::topic_partition, int64_t> catch_up; // high watermark at start, until reached
  bool live = false;
  std::map<std::string, int64_t> lag;
  std::chrono::steady_clock::time_point next_refresh{}; // lag and rate sample due
  int64_t started_ms = 0;
  uint64_t records = 0, undecodable = 0;
  std::string last_error; // "<time ms> <what>" of the last failure
  static inline constexpr const char* name = "metrics";

  ~metrics_state() {
    if (consumer)
      consumer->close();
  }
};

using metrics_ptr = metrics_actor::stateful_pointer<metrics_state>;

void set_error(metrics_state& st, const std::string& what) {
  st.last_error = std::to_string(now_ms()) + " " + what;
  EV_LOG(error) << "metrics role: " << what;
}

// Assigns every partition of the four topics at its low watermark. Fails (and is retried) while
// a topic cannot be described, e.g. with the brokers down.
bool open_consumer(metrics_state& st) {
  auto& t = *st.names;
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  std::map<storage::topic_partition, int64_t> targets;
  int64_t backlog = 0;
  for (auto& topic : {t.user_commands, t.conversation_events, t.tool_requests, t.dead_letters}) {
    auto n = st.cfg.log->partition_count(topic);
    if (!n) {
      set_error(st, "partitions of " + topic + ": " + n.error());
      return false;
    }
    for (int32_t p = 0; p < *n; ++p) {
      storage::topic_partition tp{topic, p};
      auto wm = st.cfg.log->query_watermarks(tp);
      if (!wm) {
        set_error(st, "watermarks of " + topic + "/" + std::to_string(p) + ": " + wm.error());
        return false;
      }
      start.emplace_back(tp, wm->low);
      if (wm->high > wm->low) {
        targets[tp] = wm->high;
        backlog += wm->high - wm->low;
      }
    }
  }
  auto c = st.cfg.log->assign(start);
  if (!c) {
    set_error(st, "assign: " + c.error());
    return false;
  }
  st.consumer = std::move(*c);
  st.catch_up = std::move(targets);
  st.started_ms = now_ms();
  EV_LOG(info) << "metrics role: projecting " << start.size() << " partitions of 4 topics from "
               << "their first stored offset on " << st.cfg.log->describe() << ", " << backlog
               << " records to catch up";
  return true;
}

// Live once every partition was read up to its high watermark at start: from then on the
// rates are about new records, not the replay.
void check_caught_up(metrics_state& st) {
  if (st.live)
    return;
  for (auto it = st.catch_up.begin(); it != st.catch_up.end();) {
    auto pos = st.consumer->position_of(it->first);
    it = pos && *pos >= it->second ? st.catch_up.erase(it) : std::next(it);
  }
  if (!st.catch_up.empty())
    return;
  st.live = true;
  st.next_refresh = {}; // lag and the rates' first sample right away
  EV_LOG(info) << "metrics role: caught up with the log after " << st.records << " records ("
               << st.undecodable << " undecodable) in " << now_ms() - st.started_ms << " ms";
}

void refresh(metrics_state& st) {
  std::string error;
  st.lag = consumer_lag(*st.cfg.log, st.cfg.topic_prefix, st.groups, &error);
  if (!error.empty())
    set_error(st, "consumer lag: " + error);
  if (st.live)
    st.rates.add(now_ms(), st.fold->events_by_topic());
}

metrics_actor::behavior_type metrics_role(metrics_ptr self, metrics_role_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.names.emplace(st.cfg.topic_prefix);
  st.groups = pipeline_groups(*st.names);
  st.fold = std::make_unique<core::metrics_fold>(st.cfg.window, st.cfg.recent);
  st.rates = core::rate_window(st.cfg.rate_window_ms);
  self->send(self, poll_atom::value);
  return {
    [self](poll_atom) {
      auto& st = self->state;
      if (!st.consumer && !open_consumer(st)) {
        self->delayed_send(self, std::chrono::seconds(1), poll_atom::value);
        return;
      }
      // A short timeout: health requests queue behind this poll.
      auto batch = st.consumer->poll(512, st.cfg.poll_timeout);
      if (!batch) {
        set_error(st, "poll: " + batch.error());
        self->delayed_send(self, std::chrono::milliseconds(200), poll_atom::value);
        return;
      }
      st.records += batch->size();
      st.undecodable += fold_batch(
        *st.fold, *batch, *st.names, st.cfg.topic_prefix,
        [](const storage::record& rec, const std::string& reason) {
          // Debug only: the groups that read the record log its dead-lettering as a warning.
          EV_LOG(debug) << "metrics role: undecodable record topic=" << rec.topic
                        << " partition=" << rec.partition << " offset=" << rec.offset
                        << " key=" << rec.key << ": " << reason;
        });
      check_caught_up(st);
      if (auto now = std::chrono::steady_clock::now(); now >= st.next_refresh) {
        refresh(st);
        st.next_refresh = now + st.cfg.lag_interval;
      }
      self->send(self, poll_atom::value);
    },
    [self](health_atom) {
      auto& st = self->state;
      auto d = core::metrics_json(st.fold->report(), st.lag,
                                  st.live ? st.rates.per_second() : std::map<std::string, double>{});
      auto& a = d.GetAllocator();
      d.AddMember("live", st.live, a);
      d.AddMember("records", st.records, a);
      d.AddMember("lastError", json::str(st.last_error, a), a);
      return json::dump(d);
    },
  };
}

} // namespace

caf::actor spawn_metrics_role(caf::actor_system& sys, metrics_role_config cfg) {
  return caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(metrics_role, std::move(cfg)));
}

} // namespace eventide
