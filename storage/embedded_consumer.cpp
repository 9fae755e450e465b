// The embedded log's consumers and groups: log_core's group side (round-robin assignment,
// hand-over of partitions between members, wake-ups, fetch planning) and the consumer
// (embedded_internal.hpp), whose poll() applies rebalances and reads.
#include "storage/embedded_internal.hpp"

#include <algorithm>
#include <chrono>

namespace eventide::storage {

// ---- log_core: groups and fetches -------------------------------------------------------

// Round-robin over the group's sorted partitions, skipping members not subscribed to a
// topic (Kafka's RoundRobinAssignor). Members notice at their next poll().
void log_core::rebalance_locked(group_state& group) {
  std::set<std::string> wanted;
  for (auto* m : group.members)
    wanted.insert(m->topics.begin(), m->topics.end());
  std::vector<std::set<topic_partition>> plan(group.members.size());
  size_t next = 0;
  for (const auto& topic : wanted) {
    int32_t count = topics.at(topic).partitions;
    for (int32_t p = 0; p < count; ++p) {
      for (size_t k = 0; k < group.members.size(); ++k) {
        size_t idx = (next + k) % group.members.size();
        const auto& subscribed = group.members[idx]->topics;
        if (std::find(subscribed.begin(), subscribed.end(), topic) != subscribed.end()) {
          plan[idx].insert({topic, p});
          next = idx + 1;
          break;
        }
      }
    }
  }
  for (size_t i = 0; i < group.members.size(); ++i) {
    member_state& m = *group.members[i];
    if (m.target != plan[i] || m.owned != plan[i]) {
      m.target = std::move(plan[i]);
      m.pending = true;
    }
  }
  notify_all_locked();
}

void log_core::notify_all_locked() {
  for (auto* m : members)
    m->signal();
}

// Wakes the consumers that read `tp`: only their poll() can return something new.
void log_core::notify_readers_locked(const topic_partition& tp) {
  for (auto* m : members)
    if (m->owned.count(tp))
      m->signal();
}

bool log_core::rebalance_ready_locked(const member_state& m) const {
  if (!m.pending)
    return false;
  for (const auto& tp : m.owned)
    if (!m.target.count(tp))
      return true; // something to revoke
  const auto& owner = groups.at(m.group).owner;
  for (const auto& tp : m.target)
    if (!m.owned.count(tp) && !owner.count(tp))
      return true; // something free to take
  return false;
}

// Applies what can be applied now: drops revoked partitions from reading (they stay owned
// until finish_release_locked) and takes target partitions nobody holds.
void log_core::take_rebalance_locked(member_state& m, std::vector<topic_partition>& revoked,
                                     std::vector<topic_partition>& granted) {
  auto& owner = groups.at(m.group).owner;
  for (const auto& tp : m.owned)
    if (!m.target.count(tp))
      revoked.push_back(tp);
  for (const auto& tp : revoked) {
    m.owned.erase(tp); // no longer read; position kept so the listener can commit it
    m.paused.erase(tp);
    m.releasing.insert(tp);
  }
  for (const auto& tp : m.target) {
    if (m.owned.count(tp) || owner.count(tp))
      continue;
    owner[tp] = &m;
    m.owned.insert(tp);
    auto start = committed_locked(m.group, tp);
    m.positions[tp] = start ? *start
                            : (m.reset == offset_reset::earliest ? 0 : high_or_zero_locked(tp));
    granted.push_back(tp);
  }
  m.pending = m.owned != m.target;
}

void log_core::finish_release_locked(member_state& m) {
  if (m.releasing.empty())
    return;
  auto& owner = groups.at(m.group).owner;
  for (const auto& tp : m.releasing) {
    m.positions.erase(tp);
    auto it = owner.find(tp);
    if (it != owner.end() && it->second == &m)
      owner.erase(it);
  }
  m.releasing.clear();
  notify_all_locked(); // members waiting for these partitions can take them now
}

void log_core::leave_group_locked(member_state& m) {
  auto g = groups.find(m.group);
  if (g == groups.end())
    return;
  auto& members = g->second.members;
  members.erase(std::remove(members.begin(), members.end(), &m), members.end());
  for (auto it = g->second.owner.begin(); it != g->second.owner.end();)
    it = it->second == &m ? g->second.owner.erase(it) : std::next(it);
  m.owned.clear();
  m.releasing.clear();
  m.pending = false;
  if (members.empty())
    groups.erase(g);
  else
    rebalance_locked(g->second);
}

bool log_core::has_data_locked(const member_state& m) const {
  for (const auto& tp : m.owned) {
    if (m.paused.count(tp))
      continue;
    auto pos = m.positions.find(tp);
    if (pos != m.positions.end() && high_or_zero_locked(tp) > pos->second)
      return true;
  }
  return false;
}

// Splits up to `max` records fairly over the partitions that have data, starting at a
// partition that rotates from poll to poll.
std::vector<fetch> log_core::plan_fetch_locked(member_state& m, size_t max) const {
  std::vector<fetch> ready;
  for (const auto& tp : m.owned) {
    if (m.paused.count(tp))
      continue;
    int64_t pos = m.positions.at(tp);
    int64_t high = high_or_zero_locked(tp);
    if (high > pos)
      ready.push_back({tp, pos, high - pos});
  }
  if (ready.empty() || max == 0)
    return {};
  std::rotate(ready.begin(), ready.begin() + static_cast<long>(m.cursor++ % ready.size()),
              ready.end());
  std::vector<int64_t> take(ready.size(), 0);
  size_t remaining = max;
  bool progress = true;
  while (remaining > 0 && progress) {
    progress = false;
    for (size_t i = 0; i < ready.size() && remaining > 0; ++i) {
      if (take[i] < ready[i].count) {
        ++take[i];
        --remaining;
        progress = true;
      }
    }
  }
  std::vector<fetch> plan;
  for (size_t i = 0; i < ready.size(); ++i)
    if (take[i] > 0)
      plan.push_back({ready[i].tp, ready[i].start, take[i]});
  return plan;
}

void log_core::read_recent_locked(std::vector<fetch>& plan, std::vector<record>& out) const {
  auto from_memory = [&](const fetch& f) {
    const auto& recent = topics.at(f.tp.topic).recent[static_cast<size_t>(f.tp.partition)];
    if (recent.empty() || f.start < recent.front().offset)
      return false;
    auto first = static_cast<size_t>(f.start - recent.front().offset);
    for (int64_t i = 0; i < f.count; ++i)
      out.push_back(recent[first + static_cast<size_t>(i)]); // (a fetch ends at the high mark)
    return true;
  };
  plan.erase(std::remove_if(plan.begin(), plan.end(), from_memory), plan.end());
}

// ---- consumer ---------------------------------------------------------------------------

outcome<std::vector<record>> embedded_consumer::poll(size_t max_records,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lk(core_->mu);
  for (;;) {
    if (state_.closed)
      return fail("embedded log: poll on a closed consumer");
    if (core_->rebalance_ready_locked(state_)) {
      std::vector<topic_partition> revoked, granted;
      core_->take_rebalance_locked(state_, revoked, granted);
      // The listener commits and seeks through this consumer, so it runs unlocked.
      lk.unlock();
      std::string listener_error;
      if (listener_ && (!revoked.empty() || !granted.empty())) {
        try {
          listener_(revoked, granted);
        } catch (const std::exception& e) {
          listener_error = e.what();
        } catch (...) {
          listener_error = "unknown exception";
        }
      }
      lk.lock();
      core_->finish_release_locked(state_);
      if (!listener_error.empty())
        return fail("embedded log: rebalance listener failed: " + listener_error);
      continue;
    }
    auto plan = core_->plan_fetch_locked(state_, max_records);
    if (!plan.empty()) {
      std::vector<record> recent;
      core_->read_recent_locked(plan, recent);
      outcome<std::vector<record>> records = std::vector<record>{};
      if (!plan.empty()) { // older records: from RocksDB, unlocked
        lk.unlock();
        records = core_->read(plan);
        lk.lock();
      }
      if (!records)
        return std::move(records).take_failure();
      if (!recent.empty())
        records->insert(records->end(), std::make_move_iterator(recent.begin()),
                        std::make_move_iterator(recent.end()));
      // Only this thread moves positions, and owned partitions change only in poll().
      for (const auto& r : *records)
        state_.positions[{r.topic, r.partition}] = r.offset + 1;
      state_.wakeup = false; // the caller is back in control either way
      return records;
    }
    if (state_.wakeup) {
      state_.wakeup = false;
      return std::vector<record>{};
    }
    if (max_records == 0 || std::chrono::steady_clock::now() >= deadline)
      return std::vector<record>{};
    state_.changed.wait_until(lk, deadline, [&] {
      return state_.closed || state_.wakeup || core_->rebalance_ready_locked(state_)
             || core_->has_data_locked(state_);
    });
  }
}

outcome<void> embedded_consumer::commit(const topic_partition& tp, log_offset next_offset) {
  if (state_.group.empty())
    return {}; // assign() consumers have no group to commit for
  std::lock_guard<std::mutex> lk(core_->mu);
  if (state_.closed)
    return fail("embedded log: commit on a closed consumer");
  if (!state_.owned.count(tp) && !state_.releasing.count(tp))
    return fail("embedded log: cannot commit " + to_string(tp) + " for group '" + state_.group
                + "': the partition is not assigned to this member");
  if (next_offset < 0)
    return fail("embedded log: cannot commit negative offset " + std::to_string(next_offset)
                + " for " + to_string(tp));
  std::string value;
  put_be64(value, static_cast<uint64_t>(next_offset));
  auto s = core_->db->Put(core_->write_options, commit_key(state_.group, tp), value);
  if (!s.ok())
    return fail("embedded log: commit " + to_string(tp) + " for group '" + state_.group
                + "' failed: " + s.ToString());
  core_->commits[{state_.group, tp}] = next_offset;
  return {};
}

outcome<std::optional<log_offset>> embedded_consumer::committed(const topic_partition& tp) {
  std::lock_guard<std::mutex> lk(core_->mu);
  if (state_.group.empty())
    return fail("embedded log: committed offsets need a consumer group id");
  auto c = core_->committed_locked(state_.group, tp);
  return c ? std::optional<log_offset>{log_offset{*c}} : std::nullopt;
}

outcome<void> embedded_consumer::seek(const topic_partition& tp, log_offset offset) {
  std::lock_guard<std::mutex> lk(core_->mu);
  if (!state_.owned.count(tp))
    return fail("embedded log: cannot seek " + to_string(tp)
                + ": the partition is not assigned to this consumer");
  int64_t high = core_->high_or_zero_locked(tp);
  if (offset < 0 || offset > high)
    return fail("embedded log: cannot seek " + to_string(tp) + " to " + std::to_string(offset)
                + ": valid offsets are 0.." + std::to_string(high));
  state_.positions[tp] = offset;
  return {};
}

std::optional<log_offset> embedded_consumer::position_of(const topic_partition& tp) const {
  std::lock_guard<std::mutex> lk(core_->mu);
  auto it = state_.positions.find(tp);
  if (it == state_.positions.end())
    return std::nullopt;
  return log_offset{it->second};
}

std::vector<topic_partition> embedded_consumer::assignment() const {
  std::lock_guard<std::mutex> lk(core_->mu);
  return {state_.owned.begin(), state_.owned.end()};
}

void embedded_consumer::pause(const topic_partition& tp) {
  std::lock_guard<std::mutex> lk(core_->mu);
  if (state_.owned.count(tp))
    state_.paused.insert(tp);
}

void embedded_consumer::resume(const topic_partition& tp) {
  std::lock_guard<std::mutex> lk(core_->mu);
  if (state_.paused.erase(tp) > 0)
    state_.signal();
}

void embedded_consumer::set_rebalance_listener(rebalance_listener listener) {
  listener_ = std::move(listener);
}

void embedded_consumer::wakeup() {
  std::lock_guard<std::mutex> lk(core_->mu);
  state_.wakeup = true;
  state_.signal();
}

bool embedded_consumer::set_notify(std::function<void()> notify) {
  std::lock_guard<std::mutex> lk(core_->mu);
  state_.notify = std::move(notify);
  return true;
}

void embedded_consumer::close() {
  std::lock_guard<std::mutex> lk(core_->mu);
  if (state_.closed)
    return;
  state_.closed = true;
  state_.notify = nullptr;
  if (!state_.group.empty())
    core_->leave_group_locked(state_);
  state_.owned.clear();
  state_.positions.clear();
  state_.paused.clear();
  auto& all = core_->members;
  all.erase(std::remove(all.begin(), all.end(), &state_), all.end());
  state_.changed.notify_one();
}

} // namespace eventide::storage
