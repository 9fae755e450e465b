// The console's live projection of the log: one reader thread tails the four topics from their
// first record and folds each record into the conversation index, the dead-letter list and the
// metrics, then tells every server-sent-events subscriber about it. The same folds as `trace`,
// `dlq` and `stats`; nothing is stored but what the log says.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/node.hpp"
#include "core/conversation_view.hpp"
#include "core/metrics.hpp"
#include "net/http_server.hpp"
#include "storage/dead_letter.hpp"
#include "storage/log.hpp"

namespace eventide::console {

/// What a client of the stream wants (docs/http-api.md, GET /api/stream): every record, only
/// one conversation's, only one topic's, or no records (the summaries only).
struct stream_filter {
  std::string conversation; // "" = all
  std::string topic;        // without the prefix; "" = all
  bool records = true;      // false: only `conversation` summaries
  std::string key() const { return conversation + '\n' + topic + '\n' + (records ? "r" : "-"); }
};

class feed {
 public:
  feed(std::shared_ptr<storage::log> log, std::string topic_prefix);
  ~feed(); // stop()
  feed(const feed&) = delete;
  feed& operator=(const feed&) = delete;

  /// Starts reading from the first stored record of every partition (idempotent).
  outcome<void> start();
  /// Waits until every record that was in the log at start() is folded (up to `timeout`), so
  /// that a first answer is not an empty list of a log that has conversations. False on timeout.
  bool wait_caught_up(std::chrono::milliseconds timeout) const;
  void stop();

  /// Runs f(index, dead letters, metrics) under the feed's lock: a consistent read.
  template <class F>
  auto read(F&& f) const {
    std::lock_guard<std::mutex> lk(mu_);
    return f(index_, dead_letters_, metrics_);
  }

  /// From now on, every record read that `filter` wants is pushed to `s` ("record"), and after
  /// them the summary of each conversation they changed ("conversation"), at most every 100 ms
  /// in one write; dropped once it is closed.
  void subscribe(std::shared_ptr<net::event_stream> s, stream_filter filter = {});
  size_t subscribers() const;
  /// Records folded so far, and the last reading error ("" when none).
  size_t records_read() const { return records_read_; }
  std::string last_error() const;

 private:
  void run();
  void fold(std::vector<storage::record>& batch);
  void push_pending();
  std::string short_topic(const std::string& topic) const;

  std::shared_ptr<storage::log> log_;
  std::string prefix_;
  topics topics_;
  mutable std::mutex mu_;
  core::conversation_index index_;
  storage::dead_letter_list dead_letters_;
  core::metrics_fold metrics_;
  std::string last_error_;
  struct subscriber {
    std::shared_ptr<net::event_stream> stream;
    stream_filter filter;
  };
  struct read_record { // a record read since the last push, as the stream shows it
    std::string conversation, topic, json;
  };
  std::vector<subscriber> subscribers_;
  std::vector<read_record> unpushed_;
  std::set<std::string> changed_; // conversations whose summary goes with them
  std::chrono::steady_clock::time_point next_push_{};
  std::unique_ptr<storage::consumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> records_read_{0};
  std::mutex start_mu_;
  bool started_ = false;
  std::vector<std::pair<storage::topic_partition, log_offset>> ends_; // high watermarks at start
  bool caught_up_ = false;                                           // (under mu_)
  mutable std::condition_variable caught_up_cv_;
};

} // namespace eventide::console
