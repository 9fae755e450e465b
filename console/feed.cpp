// The console's live projection (feed.hpp).
#include "console/feed.hpp"

#include <algorithm>
#include <map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/logging.hpp"
#include "actors/metrics_role.hpp"
#include "schemas/codec.hpp"
#include "schemas/decode_memo.hpp"

namespace eventide::console {

namespace {

// A keep-alive comment this often finds clients that went away without closing.
constexpr auto keep_alive_every = std::chrono::seconds(15);
// New records go to the stream's clients together at most this often: ten updates a second is
// live for a person, and a busy pipeline costs one write per client per interval, not per record.
constexpr auto push_every = std::chrono::milliseconds(100);

// The `record` event of the stream: where a record is, what it is, whose it is.
std::string record_json(const storage::record& rec, const std::string& topic,
                        const events::event* ev) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto put = [&](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("position");
  put(topic + "/" + std::to_string(rec.partition) + "@" + std::to_string(rec.offset));
  w.Key("topic");
  put(topic);
  w.Key("type");
  put(ev ? events::type_name(ev->data) : std::string(topic == storage::dead_letter_topic
                                                         ? "DeadLetter" : "Undecodable"));
  w.Key("conversationId");
  put(ev ? ev->subject : rec.key);
  w.Key("id");
  put(ev ? ev->id : std::string());
  w.Key("time");
  w.Int64(ev ? ev->time_ms : rec.timestamp_ms);
  w.EndObject();
  return buf.GetString();
}

} // namespace

feed::feed(std::shared_ptr<storage::log> log, std::string topic_prefix)
    : log_(std::move(log)), prefix_(std::move(topic_prefix)), topics_(prefix_) {}

feed::~feed() { stop(); }

outcome<void> feed::start() {
  std::lock_guard<std::mutex> lk(start_mu_);
  if (started_)
    return {};
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (auto& topic :
       {topics_.user_commands, topics_.conversation_events, topics_.tool_requests,
        topics_.dead_letters}) {
    auto parts = log_->partition_count(topic);
    if (!parts)
      return fail("cannot read " + topic + ": " + parts.error());
    for (int32_t p = 0; p < *parts; ++p) {
      storage::topic_partition tp{topic, p};
      auto wm = log_->query_watermarks(tp);
      if (!wm)
        return fail("cannot read " + storage::to_string(tp) + ": " + wm.error());
      start.emplace_back(tp, wm->low);
      if (wm->high > wm->low)
        ends_.emplace_back(tp, wm->high);
    }
  }
  auto c = log_->assign(start);
  if (!c)
    return fail(c.error());
  consumer_ = std::move(*c);
  started_ = true;
  stopping_ = false; // a feed may be started again after stop()
  {
    std::lock_guard<std::mutex> lk2(mu_);
    caught_up_ = ends_.empty();
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void feed::stop() {
  std::lock_guard<std::mutex> lk(start_mu_);
  if (!started_)
    return;
  stopping_ = true;
  consumer_->wakeup();
  thread_.join();
  consumer_->close();
  started_ = false;
  std::lock_guard<std::mutex> lk2(mu_);
  for (auto& s : subscribers_)
    s.stream->close();
  subscribers_.clear();
}

bool feed::wait_caught_up(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lk(mu_);
  return caught_up_cv_.wait_for(lk, timeout, [this] { return caught_up_; });
}

// (Under mu_.) The records read since the last push, then each conversation they changed once,
// as it is now: one write per client, not one per record. Clients with the same filter share
// one framing.
void feed::push_pending() {
  std::map<std::string, std::string> framed; // by filter key
  for (auto& sub : subscribers_) {
    const auto& f = sub.filter;
    auto [it, fresh] = framed.try_emplace(f.key());
    if (fresh) {
      auto& out = it->second;
      if (f.records)
        for (auto& r : unpushed_)
          if ((f.conversation.empty() || r.conversation == f.conversation)
              && (f.topic.empty() || r.topic == f.topic))
            net::event_stream::frame(out, "record", r.json);
      for (auto& id : changed_)
        if (f.conversation.empty() || id == f.conversation)
          if (auto s = index_.find(id))
            net::event_stream::frame(out, "conversation", core::summary_json(*s));
    }
    if (!it->second.empty())
      sub.stream->push_frames(it->second);
  }
  unpushed_.clear();
  changed_.clear();
}

void feed::subscribe(std::shared_ptr<net::event_stream> s, stream_filter filter) {
  std::lock_guard<std::mutex> lk(mu_);
  // What is waiting for the next push was read before this client came: not for it.
  push_pending();
  subscribers_.push_back({std::move(s), std::move(filter)});
}

size_t feed::subscribers() const {
  std::lock_guard<std::mutex> lk(mu_);
  return subscribers_.size();
}

std::string feed::last_error() const {
  std::lock_guard<std::mutex> lk(mu_);
  return last_error_;
}

std::string feed::short_topic(const std::string& topic) const {
  return topic.rfind(prefix_, 0) == 0 ? topic.substr(prefix_.size()) : topic;
}

void feed::run() {
  auto next_keep_alive = std::chrono::steady_clock::now() + keep_alive_every;
  auto next_read = std::chrono::steady_clock::now();
  while (!stopping_) {
    // Reads at most every push_every (what is read goes out together anyway), unless behind:
    // a busy log then costs this thread ten wake-ups a second, not one per record.
    auto batch = consumer_->poll(512, push_every);
    if (!batch) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        last_error_ = batch.error();
      }
      EV_LOG(warning) << "console feed: reading the log failed: " << batch.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (!batch->empty())
      fold(*batch);
    auto now = std::chrono::steady_clock::now();
    if (batch->size() < 512) { // caught up: the next read in push_every
      if (now < next_read && !stopping_) {
        std::this_thread::sleep_until(next_read);
        now = std::chrono::steady_clock::now();
      }
      next_read = now + push_every;
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (now >= next_push_ && (!unpushed_.empty() || !changed_.empty())) {
      push_pending();
      next_push_ = now + push_every;
    }
    if (now >= next_keep_alive) {
      next_keep_alive = now + keep_alive_every;
      for (auto& s : subscribers_)
        s.stream->push_comment("keep-alive");
    }
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                      [](const auto& s) { return s.stream->closed(); }),
                       subscribers_.end());
  }
}

void feed::fold(std::vector<storage::record>& batch) {
  // Decoded once, outside the lock (readers wait only for the folds), for all three folds.
  std::vector<std::optional<outcome<events::event>>> decoded(batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    if (batch[i].topic != topics_.dead_letters)
      decoded[i].emplace(events::decode_shared(batch[i].value));
  std::lock_guard<std::mutex> lk(mu_);
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& rec = batch[i];
    const events::event* ev = decoded[i] && *decoded[i] ? &**decoded[i] : nullptr;
    const core::conversation_summary* changed = nullptr;
    if (rec.topic == topics_.dead_letters)
      dead_letters_.apply(rec);
    else if (ev)
      changed = &index_.apply(*ev);
    if (subscribers_.empty())
      continue;
    auto topic = short_topic(rec.topic);
    auto json = record_json(rec, topic, ev);
    unpushed_.push_back({ev ? ev->subject : rec.key, std::move(topic), std::move(json)});
    if (changed)
      changed_.insert(changed->id);
  }
  fold_batch(metrics_, batch, topics_, prefix_,
             [](const storage::record&, const std::string&) {}, &decoded);
  records_read_ += batch.size();
  if (!caught_up_) {
    caught_up_ = std::all_of(ends_.begin(), ends_.end(), [&](const auto& e) {
      return consumer_->position_of(e.first).value_or(e.second) >= e.second;
    });
    if (caught_up_)
      caught_up_cv_.notify_all();
  }
}

} // namespace eventide::console
