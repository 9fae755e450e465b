#include "tests/e2e/harness.hpp"

#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "actors/logging.hpp"
#include "schemas/codec.hpp"

namespace eventide::testing {

std::vector<std::string> conversation_trace::sequence() const {
  std::vector<std::string> out;
  for (auto& e : conversation_events) {
    std::string s = events::type_name(e.data);
    if (auto r = std::get_if<events::tool_invocation_resulted>(&e.data))
      s += ":" + r->step_id;
    else if (auto c = std::get_if<events::plan_step_completed>(&e.data))
      s += ":" + c->step_id;
    out.push_back(s);
  }
  return out;
}

json::document conversation_trace::result_of(const std::string& step) const {
  for (auto& e : conversation_events)
    if (auto r = std::get_if<events::tool_invocation_resulted>(&e.data))
      if (r->step_id == step && r->ok)
        if (auto d = json::parse(r->result_json))
          return std::move(*d);
  return json::document{};
}

size_t conversation_trace::count(const char* type) const {
  size_t n = 0;
  for (auto* list : {&conversation_events, &tool_requests})
    for (auto& e : *list)
      if (std::string(events::type_name(e.data)) == type)
        ++n;
  return n;
}

std::vector<std::string> conversation_trace::divergent_repeats() const {
  std::map<std::pair<std::string, std::string>, const std::string*> first; // (topic, id) -> bytes
  std::vector<std::string> bad;
  for (auto& r : records) {
    auto [it, fresh] = first.emplace(std::make_pair(r.topic, r.event_id), &r.bytes);
    if (!fresh && *it->second != r.bytes)
      bad.push_back(r.event_id + " on " + r.topic);
  }
  return bad;
}

namespace {

// A trace whose ids repeat with other bytes is a broken "exactly once": no test may pass on it.
void require_no_divergent_repeats(const conversation_trace& trace) {
  auto bad = trace.divergent_repeats();
  if (bad.empty())
    return;
  std::string list;
  for (auto& id : bad)
    list += " " + id;
  throw std::runtime_error("conversation " + trace.id
                           + ": event ids repeated with different bytes (decided twice):" + list);
}

} // namespace

pipeline::pipeline(const std::string& data_dir, node_options opts)
  : data_dir_(data_dir), opts_(std::move(opts)), topics_(opts_.topic_prefix) {
  storage::embedded_options eo;
  eo.dir = data_dir + "/log";
  eo.partitions = 3;
  auto l = storage::open_embedded_log(eo);
  if (!l)
    throw std::runtime_error(l.error());
  log_ = std::move(*l);
  init();
}

pipeline::pipeline(const std::string& data_dir, std::shared_ptr<storage::log> log,
                   node_options opts)
  : data_dir_(data_dir), opts_(std::move(opts)), topics_(opts_.topic_prefix), log_(std::move(log)) {
  init();
}

void pipeline::init() {
  const char* level = std::getenv("EVENTIDE_TEST_LOG");
  init_logging(level && *level ? level : "error");
  if (opts_.roles.empty())
    opts_.roles.insert(known_roles().begin(), known_roles().end());
  if (opts_.data_dir.empty())
    opts_.data_dir = data_dir_;
  if (opts_.resources.empty())
    opts_.resources = providers::resource_root();
  cfg_.set("scheduler.max-threads", 2);
  tune_scheduler(cfg_);
  if (const char* policy = std::getenv("EVENTIDE_SCHEDULER"); policy && *policy)
    cfg_.set("scheduler.policy", caf::atom_from_string(policy));
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  start();
}

pipeline::~pipeline() {
  stop();
}

void pipeline::start() {
  if (node_)
    return;
  node_ = std::make_unique<node>(*sys_, log_, opts_);
  if (auto r = node_->start(); !r)
    throw std::runtime_error(r.error());
}

void pipeline::stop() {
  if (node_) {
    node_->stop();
    node_.reset();
  }
}

void pipeline::produce_raw(const std::string& topic, const std::string& key,
                           const std::string& value) {
  bool ok = false;
  log_->produce(topic, key, value, [&](outcome<storage::position> r) { ok = r.ok(); });
  (void) log_->flush(std::chrono::seconds(5));
  if (!ok)
    throw std::runtime_error("produce failed");
}

void pipeline::produce(const events::event& e) {
  auto bytes = events::encode(e);
  if (!bytes)
    throw std::runtime_error(bytes.error());
  produce_raw(opts_.topic_prefix + events::topic_of(e.data), e.subject, *bytes);
}

namespace {

std::vector<std::pair<storage::topic_partition, log_offset>>
partitions_of(storage::log& log, const std::string& conversation,
              const std::vector<std::string>& topics, bool from_start) {
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (auto& t : topics) {
    auto parts = log.partition_count(t);
    if (!parts)
      throw std::runtime_error(parts.error());
    storage::topic_partition tp{t, storage::partition_for_key(conversation, *parts)};
    auto wm = log.query_watermarks(tp);
    start.emplace_back(tp, from_start || !wm ? 0 : wm->high);
  }
  return start;
}

void collect(const storage::record& rec, const std::string& conversation, const topics& names,
             conversation_trace& trace) {
  if (rec.key != conversation)
    return;
  auto ev = events::decode(rec.value);
  if (!ev)
    return;
  if (rec.topic == names.tool_requests || rec.topic == names.conversation_events)
    trace.records.push_back({rec.topic, ev->id, rec.value});
  if (rec.topic == names.tool_requests)
    trace.tool_requests.push_back(std::move(*ev));
  else if (rec.topic == names.conversation_events)
    trace.conversation_events.push_back(std::move(*ev));
}

} // namespace

conversation_trace pipeline::ask(const std::string& conversation, const std::string& question,
                                 std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds settle) {
  conversation_trace trace;
  trace.id = conversation;
  auto c = log_->assign(partitions_of(*log_, conversation,
                                      {topics_.conversation_events, topics_.tool_requests}, false));
  if (!c)
    throw std::runtime_error(c.error());
  events::event q;
  q.id = conversation + "/query";
  q.source = "eventide/test";
  q.time_ms = now_ms();
  q.subject = conversation;
  q.data = events::user_query_received{conversation, "tester", question, q.time_ms};
  produce(q);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<std::chrono::steady_clock::time_point> answered_at;
  while (std::chrono::steady_clock::now() < deadline) {
    auto batch = (*c)->poll(256, std::chrono::milliseconds(20));
    if (!batch)
      throw std::runtime_error(batch.error());
    for (auto& rec : *batch)
      collect(rec, conversation, topics_, trace);
    if (!answered_at && trace.answer())
      answered_at = std::chrono::steady_clock::now();
    if (answered_at && std::chrono::steady_clock::now() - *answered_at >= settle)
      break;
  }
  require_no_divergent_repeats(trace);
  return trace;
}

conversation_trace pipeline::await_answer(const std::string& conversation,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds settle) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  conversation_trace t;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    t = read(conversation);
  } while (t.answer() == nullptr && std::chrono::steady_clock::now() < deadline);
  if (t.answer() == nullptr)
    return t;
  std::this_thread::sleep_for(settle);
  return read(conversation);
}

conversation_trace pipeline::read(const std::string& conversation) {
  conversation_trace trace;
  trace.id = conversation;
  auto start = partitions_of(*log_, conversation,
                             {topics_.conversation_events, topics_.tool_requests}, true);
  std::map<storage::topic_partition, int64_t> ends;
  for (auto& [tp, off] : start)
    ends[tp] = log_->query_watermarks(tp)->high;
  auto c = log_->assign(start);
  if (!c)
    throw std::runtime_error(c.error());
  while (true) {
    bool done = true;
    for (auto& [tp, end] : ends)
      if ((*c)->position_of(tp).value_or(log_offset{end}) < end)
        done = false;
    if (done)
      break;
    auto batch = (*c)->poll(1024, std::chrono::milliseconds(20));
    for (auto& rec : *batch)
      collect(rec, conversation, topics_, trace);
  }
  require_no_divergent_repeats(trace);
  return trace;
}

} // namespace eventide::testing
