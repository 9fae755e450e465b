#include "actors/crash_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "actors/logging.hpp"

namespace eventide {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces `path` through a rename: a reader sees the old file or the new one, whole. No fsync:
// a kill -9 loses nothing once write() returned; an OS crash may lose the newest strikes.
outcome<void> replace_file(const std::string& path, const std::string& bytes) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto reason = std::string(std::strerror(errno));
      ::close(fd);
      return fail("cannot write " + tmp + ": " + reason);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("cannot rename " + tmp + ": " + std::strerror(errno));
  return {};
}

core::partition_ref ref(const storage::topic_partition& tp) {
  return {tp.topic, tp.partition};
}

core::partition_ref ref(const storage::record& rec) {
  return {rec.topic, rec.partition};
}

uint64_t new_run_id() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0)
    id = (static_cast<uint64_t>(rd()) << 32) ^ rd()
         ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return id;
}

std::string describe_note(const core::crash_note& note) {
  std::string out;
  size_t shown = 0;
  for (auto& r : note.runs) {
    if (++shown > 8) {
      out += " ...";
      break;
    }
    out += " " + r.at.topic + "/" + std::to_string(r.at.partition) + "@" + std::to_string(r.first);
    if (r.last != r.first)
      out += "-" + std::to_string(r.last);
  }
  return out;
}

// Turns the note a dead run left for one group (files <stem>.note and <stem>.strikes) into
// strikes. Idempotent: the strike file remembers the run of the last note it took in.
void take_in_note(const std::string& dir, const std::string& stem, uint64_t run) {
  auto note_path = dir + "/" + stem + ".note";
  auto strikes_path = dir + "/" + stem + ".strikes";
  auto bytes = read_file(note_path);
  if (!bytes)
    return;
  auto note = core::decode_note(*bytes);
  if (!note) {
    EV_LOG(warning) << "crash guard: ignoring unreadable note " << note_path << ": " << note.error();
  } else if (*note) {
    core::strike_table strikes;
    if (auto old = read_file(strikes_path)) {
      auto t = core::strike_table::decode(*old);
      if (t)
        strikes = std::move(*t);
      else
        EV_LOG(warning) << "crash guard: starting over from an unreadable strike file "
                        << strikes_path << ": " << t.error();
    }
    auto& n = **note;
    if (strikes.apply(n)) {
      EV_LOG(warning) << "crash guard: the last run died with " << n.records() << " record(s) "
                      << (n.alone ? "handled alone" : "in flight") << " in " << stem << ":"
                      << describe_note(n) << "; each gets a strike";
      if (auto r = replace_file(strikes_path, strikes.encode()); !r) {
        EV_LOG(error) << "crash guard: " << r.error();
        return; // the note stays: taken in at the next start
      }
    }
  }
  if (auto r = replace_file(note_path, core::encode_cleared_note(run)); !r)
    EV_LOG(error) << "crash guard: " << r.error();
}

} // namespace

// -- crash_guard ---------------------------------------------------------------------------------

outcome<std::shared_ptr<crash_guard>> crash_guard::open(const std::string& dir, uint32_t limit,
                                                        const std::vector<std::string>& groups) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail("cannot create " + dir + ": " + ec.message());
  std::shared_ptr<crash_guard> g(new crash_guard());
  g->dir_ = dir;
  g->limit_ = std::max<uint32_t>(limit, 1);
  g->run_ = new_run_id();
  // Every note left behind, also of groups this node no longer hosts.
  for (auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".note")
      take_in_note(dir, entry.path().stem().string(), g->run_);
  if (ec)
    return fail("cannot list " + dir + ": " + ec.message());
  int pending = 0;
  for (auto& group : groups) {
    auto stem = core::group_file_name(group);
    auto strikes_path = dir + "/" + stem + ".strikes";
    core::strike_table strikes;
    if (auto text = read_file(strikes_path)) {
      auto t = core::strike_table::decode(*text);
      if (t)
        strikes = std::move(*t);
      else
        EV_LOG(warning) << "crash guard: starting over from an unreadable strike file "
                        << strikes_path << ": " << t.error();
    }
    auto note_path = dir + "/" + stem + ".note";
    int fd = ::open(note_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return fail("cannot open " + note_path + ": " + std::strerror(errno));
    if (strikes.has_suspects()) {
      ++pending;
      EV_LOG(warning) << "crash guard: group " << group << " has " << strikes.size()
                      << " record(s) with strikes; until they are handled, records are handed "
                         "out one suspect at a time (limit "
                      << g->limit_ << ")";
    }
    g->untaken_[group] = loaded{fd, strikes_path, std::move(strikes)};
  }
  g->pending_groups_ = pending;
  return g;
}

crash_guard::~crash_guard() {
  for (auto& [group, l] : untaken_)
    ::close(l.fd);
}

std::shared_ptr<group_crash_guard> crash_guard::take(const std::string& group) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = untaken_.find(group);
  if (it == untaken_.end())
    return nullptr;
  auto& l = it->second;
  std::shared_ptr<group_crash_guard> g(
    new group_crash_guard(shared_from_this(), group, l.fd, l.strikes_path, std::move(l.strikes)));
  untaken_.erase(it);
  ++open_groups_;
  return g;
}

void crash_guard::drop_untaken() {
  std::map<std::string, loaded> dropped;
  {
    std::lock_guard<std::mutex> lk(mu_);
    dropped.swap(untaken_);
  }
  for (auto& [group, l] : dropped) {
    ::close(l.fd);
    if (l.strikes.has_suspects())
      group_done(false);
  }
}

bool crash_guard::wait_released(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return open_groups_ == 0; });
}

void crash_guard::released() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (open_groups_ > 0)
      --open_groups_;
  }
  cv_.notify_all();
}

void crash_guard::group_done(bool handled) {
  if (pending_groups_.fetch_sub(1, std::memory_order_acq_rel) == 1 && handled)
    EV_LOG(warning) << "crash guard: every suspect handled; records are handed out in batches again";
}

bool crash_guard::try_shared(size_t n) {
  std::lock_guard<std::mutex> lk(mu_);
  if (alone_ || !waiting_.empty())
    return false;
  shared_ += n;
  return true;
}

void crash_guard::done_shared(size_t n) {
  std::lock_guard<std::mutex> lk(mu_);
  shared_ -= std::min(n, shared_);
}

bool crash_guard::try_alone(const std::string& group) {
  std::lock_guard<std::mutex> lk(mu_);
  if (alone_)
    return false;
  if (std::find(waiting_.begin(), waiting_.end(), group) == waiting_.end())
    waiting_.push_back(group);
  if (shared_ > 0 || waiting_.front() != group)
    return false;
  waiting_.pop_front();
  alone_ = group;
  return true;
}

void crash_guard::done_alone(const std::string& group) {
  std::lock_guard<std::mutex> lk(mu_);
  if (alone_ == group)
    alone_.reset();
}

void crash_guard::withdraw(const std::string& group) {
  std::lock_guard<std::mutex> lk(mu_);
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), group), waiting_.end());
  if (alone_ == group)
    alone_.reset();
}

// -- group_crash_guard ---------------------------------------------------------------------------

group_crash_guard::group_crash_guard(std::shared_ptr<crash_guard> guard, std::string group,
                                     int fd, std::string strikes_path, core::strike_table strikes)
  : guard_(std::move(guard)),
    group_(std::move(group)),
    fd_(fd),
    strikes_path_(std::move(strikes_path)),
    strikes_(std::move(strikes)),
    tracker_(strikes_.has_suspects()),
    reported_done_(!strikes_.has_suspects()) {
}

group_crash_guard::~group_crash_guard() {
  close();
}

void group_crash_guard::close() {
  if (closed_)
    return;
  closed_ = true;
  if (auto r = clear_note(); !r)
    EV_LOG(error) << "crash guard: group " << group_ << ": " << r.error();
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  guard_->withdraw(group_);
  if (!reported_done_) {
    reported_done_ = true;
    guard_->group_done(false);
  }
  guard_->released();
}

uint32_t group_crash_guard::strikes_of(const storage::record& rec) const {
  return strikes_.of(ref(rec), rec.offset);
}

bool group_crash_guard::dead_lettered(const storage::record& rec) const {
  return strikes_.dead_lettered(ref(rec), rec.offset);
}

core::crash_verdict group_crash_guard::judge(const storage::record& rec) const {
  return strikes_.judge(ref(rec), rec.offset, guard_->limit(), guard_->quarantine());
}

outcome<void> group_crash_guard::write_note(const std::string& bytes) {
  if (fd_ < 0)
    return fail("note file closed");
  // One pwrite(): the page cache has it when it returns, so a kill -9 right after keeps it.
  auto n = ::pwrite(fd_, bytes.data(), bytes.size(), 0);
  if (n != static_cast<ssize_t>(bytes.size()))
    return fail("cannot write the crash note of group " + group_ + ": "
                + (n < 0 ? std::string(std::strerror(errno)) : std::string("short write")));
  return {};
}

outcome<void> group_crash_guard::note(const core::crash_note& note) {
  auto& w = start_note();
  for (auto& r : note.runs)
    w.add_run(r.at.topic, r.at.partition, r.first, r.last);
  return finish_note();
}

core::note_writer& group_crash_guard::start_note() {
  writer_.begin(false);
  return writer_;
}

outcome<void> group_crash_guard::finish_note() {
  noted_ = true;
  return write_note(writer_.finish(guard_->run_));
}

outcome<void> group_crash_guard::note_alone(const storage::record& rec) {
  writer_.begin(true);
  writer_.add_run(rec.topic, rec.partition, rec.offset, rec.offset);
  noted_ = true;
  return write_note(writer_.finish(guard_->run_));
}

outcome<void> group_crash_guard::clear_note() {
  if (!noted_)
    return {};
  noted_ = false;
  return write_note(core::encode_cleared_note(guard_->run_));
}

void group_crash_guard::store_strikes() {
  if (auto r = replace_file(strikes_path_, strikes_.encode()); !r)
    EV_LOG(error) << "crash guard: " << r.error();
}

void group_crash_guard::check_done() {
  if (!reported_done_ && tracker_.done()) {
    reported_done_ = true;
    EV_LOG(info) << "crash guard: group " << group_ << " handled its suspects";
    guard_->group_done(true);
  }
}

void group_crash_guard::assigned(const storage::topic_partition& tp, std::optional<int64_t> start,
                                 const std::function<std::optional<int64_t>()>& high) {
  auto at = ref(tp);
  if (!strikes_.has(at)) {
    tracker_.assigned(at, {});
    return;
  }
  if (strikes_.forget_outside(at, start, high()))
    store_strikes();
  tracker_.assigned(at, strikes_.suspects(at));
}

void group_crash_guard::revoked(const storage::topic_partition& tp) {
  tracker_.revoked(ref(tp)); // done or not: decided when the next assignment is seen
}

void group_crash_guard::assignment_seen() {
  tracker_.assignment_seen();
  check_done();
}

void group_crash_guard::passed(const storage::topic_partition& tp, int64_t offset) {
  auto at = ref(tp);
  if (!strikes_.empty() && strikes_.settle(at, offset, guard_->limit()))
    store_strikes();
  tracker_.passed(at, offset);
  check_done();
}

} // namespace eventide
