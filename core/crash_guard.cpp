#include "core/crash_guard.hpp"

#include <charconv>
#include <cstring>

namespace eventide::core {

namespace {

constexpr char note_magic[8] = {'e', 'v', 'n', 'o', 't', 'e', '1', '\n'};
constexpr size_t note_header_size = 32; // magic, run (u64), length (u32), zero (u32), fnv (u64)
// A note lists at most a bridge's in-flight records (max-in-flight); anything far larger is
// not a note this code wrote.
constexpr size_t max_noted_records = 1u << 20;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

void frame_into(std::string& out, uint64_t run, std::string_view payload) {
  out.clear();
  out.append(note_magic, sizeof note_magic);
  put_le(out, run, 8);
  put_le(out, payload.size(), 4);
  put_le(out, 0, 4);
  put_le(out, fnv1a(payload), 8);
  out.append(payload);
}

std::string frame(uint64_t run, std::string_view payload) {
  std::string out;
  out.reserve(note_header_size + payload.size());
  frame_into(out, run, payload);
  return out;
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, err] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

template <class T>
bool parse_int(std::string_view s, T& out) {
  auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && err == std::errc{} && end == s.data() + s.size();
}

// Splits "a\tb\tc" into fields.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos
                                                                     : tab - start));
    if (tab == std::string_view::npos)
      return out;
    start = tab + 1;
  }
}

template <class F>
bool each_line(std::string_view text, F&& f) {
  size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    auto line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos
                                                                  : nl - start);
    if (!line.empty() && !f(line))
      return false;
    if (nl == std::string_view::npos)
      break;
    start = nl + 1;
  }
  return true;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

} // namespace

size_t crash_note::records() const {
  size_t n = 0;
  for (auto& r : runs)
    n += static_cast<size_t>(r.last - r.first + 1);
  return n;
}

bool operator==(const crash_note& a, const crash_note& b) {
  if (a.run != b.run || a.alone != b.alone || a.runs.size() != b.runs.size())
    return false;
  for (size_t i = 0; i < a.runs.size(); ++i)
    if (!(a.runs[i].at == b.runs[i].at) || a.runs[i].first != b.runs[i].first
        || a.runs[i].last != b.runs[i].last)
      return false;
  return true;
}

void add_in_flight(crash_note& note, const partition_ref& at, const std::set<int64_t>& offsets) {
  auto it = offsets.begin();
  while (it != offsets.end()) {
    offset_run r{at, *it, *it};
    for (++it; it != offsets.end() && *it == r.last + 1; ++it)
      r.last = *it;
    note.runs.push_back(std::move(r));
  }
}

void note_writer::begin(bool alone) {
  payload_.clear();
  payload_ += alone ? "alone\n" : "batch\n";
}

void note_writer::add_run(std::string_view topic, int32_t partition, int64_t first, int64_t last) {
  payload_ += topic;
  payload_ += '\t';
  append_int(payload_, partition);
  payload_ += '\t';
  append_int(payload_, first);
  payload_ += '\t';
  append_int(payload_, last);
  payload_ += '\n';
}

void note_writer::add(std::string_view topic, int32_t partition, const std::set<int64_t>& offsets) {
  auto it = offsets.begin();
  while (it != offsets.end()) {
    auto first = *it, last = *it;
    for (++it; it != offsets.end() && *it == last + 1; ++it)
      last = *it;
    add_run(topic, partition, first, last);
  }
}

const std::string& note_writer::finish(uint64_t run) {
  frame_into(framed_, run, payload_);
  return framed_;
}

std::string encode_note(const crash_note& note) {
  note_writer w;
  w.begin(note.alone);
  for (auto& r : note.runs)
    w.add_run(r.at.topic, r.at.partition, r.first, r.last);
  return w.finish(note.run);
}

std::string encode_cleared_note(uint64_t run) {
  return frame(run, {});
}

outcome<std::optional<crash_note>> decode_note(std::string_view bytes) {
  if (bytes.empty())
    return std::optional<crash_note>{};
  if (bytes.size() < note_header_size || std::memcmp(bytes.data(), note_magic, 8) != 0)
    return fail("not a crash note (bad header)");
  crash_note note;
  note.run = get_le(bytes, 8, 8);
  auto length = get_le(bytes, 16, 4);
  auto sum = get_le(bytes, 24, 8);
  if (bytes.size() < note_header_size + length)
    return fail("crash note cut short: " + std::to_string(length) + " bytes announced, "
                + std::to_string(bytes.size() - note_header_size) + " present");
  auto payload = bytes.substr(note_header_size, length);
  if (fnv1a(payload) != sum)
    return fail("crash note checksum mismatch (a torn write)");
  if (payload.empty())
    return std::optional<crash_note>{};
  auto first_nl = payload.find('\n');
  auto kind = payload.substr(0, first_nl);
  if (kind != "alone" && kind != "batch")
    return fail("crash note of unknown kind '" + std::string(kind) + "'");
  note.alone = kind == "alone";
  std::string error;
  size_t total = 0;
  bool ok = each_line(payload.substr(first_nl == std::string_view::npos ? payload.size()
                                                                         : first_nl + 1),
                      [&](std::string_view line) {
    auto f = fields(line);
    offset_run r;
    if (f.size() != 4 || f[0].empty() || !parse_int(f[1], r.at.partition)
        || !parse_int(f[2], r.first) || !parse_int(f[3], r.last) || r.first < 0
        || r.last < r.first) {
      error = "bad crash note line '" + std::string(line) + "'";
      return false;
    }
    r.at.topic = std::string(f[0]);
    total += static_cast<size_t>(r.last - r.first + 1);
    if (total > max_noted_records) {
      error = "crash note lists more than " + std::to_string(max_noted_records) + " records";
      return false;
    }
    note.runs.push_back(std::move(r));
    return true;
  });
  if (!ok)
    return fail(error);
  return std::optional<crash_note>{std::move(note)};
}

std::string crash_loop_reason(uint32_t strikes) {
  return "crashed the node " + std::to_string(strikes) + (strikes == 1 ? " time" : " times");
}

crash_verdict judge(uint32_t strikes, uint32_t limit, bool quarantine) {
  if (limit == 0 || strikes == 0)
    return crash_verdict::handle;
  if (strikes >= limit)
    return crash_verdict::dead_letter;
  return quarantine ? crash_verdict::alone : crash_verdict::handle;
}

size_t strike_table::size() const {
  size_t n = 0;
  for (auto& [at, m] : by_partition_)
    n += m.size();
  return n;
}

uint32_t strike_table::of(const partition_ref& at, int64_t offset) const {
  auto p = by_partition_.find(at);
  if (p == by_partition_.end())
    return 0;
  auto o = p->second.find(offset);
  return o == p->second.end() ? 0 : o->second.strikes;
}

bool strike_table::dead_lettered(const partition_ref& at, int64_t offset) const {
  auto p = by_partition_.find(at);
  if (p == by_partition_.end())
    return false;
  auto o = p->second.find(offset);
  return o != p->second.end() && o->second.dead_lettered;
}

std::vector<partition_ref> strike_table::partitions() const {
  std::vector<partition_ref> out;
  for (auto& [at, m] : by_partition_)
    out.push_back(at);
  return out;
}

std::set<int64_t> strike_table::suspects(const partition_ref& at) const {
  std::set<int64_t> out;
  if (auto p = by_partition_.find(at); p != by_partition_.end())
    for (auto& [offset, e] : p->second)
      if (!e.dead_lettered)
        out.insert(offset);
  return out;
}

bool strike_table::has_suspects() const {
  for (auto& [at, m] : by_partition_)
    for (auto& [offset, e] : m)
      if (!e.dead_lettered)
        return true;
  return false;
}

bool strike_table::apply(const crash_note& note) {
  if (note.run != 0 && note.run == applied_run_)
    return false;
  applied_run_ = note.run;
  for (auto& r : note.runs)
    for (auto o = r.first; o <= r.last; ++o)
      ++by_partition_[r.at][o].strikes;
  return true;
}

bool strike_table::settle(const partition_ref& at, int64_t offset, uint32_t limit) {
  auto p = by_partition_.find(at);
  if (p == by_partition_.end())
    return false;
  auto o = p->second.find(offset);
  if (o == p->second.end())
    return false;
  if (limit > 0 && o->second.strikes >= limit) {
    if (o->second.dead_lettered)
      return false;
    o->second.dead_lettered = true;
    return true;
  }
  p->second.erase(o);
  if (p->second.empty())
    by_partition_.erase(p);
  return true;
}

bool strike_table::forget_outside(const partition_ref& at, std::optional<int64_t> from,
                                  std::optional<int64_t> high) {
  auto p = by_partition_.find(at);
  if (p == by_partition_.end())
    return false;
  auto& m = p->second;
  auto before = m.size();
  if (from)
    m.erase(m.begin(), m.lower_bound(*from));
  if (high)
    m.erase(m.lower_bound(*high), m.end());
  auto changed = m.size() != before;
  if (m.empty())
    by_partition_.erase(p);
  return changed;
}

crash_verdict strike_table::judge(const partition_ref& at, int64_t offset, uint32_t limit,
                                  bool quarantine) const {
  return core::judge(of(at, offset), limit, quarantine);
}

std::string strike_table::encode() const {
  std::string out = "eventide crash strikes 1\napplied\t" + hex(applied_run_) + "\n";
  for (auto& [at, m] : by_partition_)
    for (auto& [offset, e] : m)
      out += at.topic + "\t" + std::to_string(at.partition) + "\t" + std::to_string(offset) + "\t"
             + std::to_string(e.strikes) + (e.dead_lettered ? "\tdead-lettered\n" : "\n");
  return out;
}

outcome<strike_table> strike_table::decode(std::string_view text) {
  strike_table t;
  std::string error;
  bool header = false;
  bool ok = each_line(text, [&](std::string_view line) {
    if (!header) {
      header = true;
      if (line != "eventide crash strikes 1") {
        error = "not a strike table (header '" + std::string(line.substr(0, 40)) + "')";
        return false;
      }
      return true;
    }
    auto f = fields(line);
    if (f.size() == 2 && f[0] == "applied") {
      auto [end, err] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), t.applied_run_, 16);
      if (f[1].empty() || err != std::errc{} || end != f[1].data() + f[1].size()) {
        error = "bad strike table line '" + std::string(line) + "'";
        return false;
      }
      return true;
    }
    partition_ref at;
    int64_t offset = 0;
    entry e;
    if ((f.size() != 4 && !(f.size() == 5 && f[4] == "dead-lettered")) || f[0].empty()
        || !parse_int(f[1], at.partition) || !parse_int(f[2], offset)
        || !parse_int(f[3], e.strikes) || offset < 0 || e.strikes == 0) {
      error = "bad strike table line '" + std::string(line) + "'";
      return false;
    }
    e.dead_lettered = f.size() == 5;
    at.topic = std::string(f[0]);
    t.by_partition_[at][offset] = e;
    return true;
  });
  if (!ok)
    return fail(error);
  if (!header)
    return fail("empty strike table");
  return t;
}

void suspect_tracker::assigned(const partition_ref& at, std::set<int64_t> suspects) {
  if (suspects.empty())
    pending_.erase(at);
  else
    pending_[at] = std::move(suspects);
}

void suspect_tracker::passed(const partition_ref& at, int64_t offset) {
  auto p = pending_.find(at);
  if (p == pending_.end())
    return;
  p->second.erase(p->second.begin(), p->second.upper_bound(offset));
  if (p->second.empty())
    pending_.erase(p);
}

size_t suspect_tracker::pending() const {
  size_t n = 0;
  for (auto& [at, s] : pending_)
    n += s.size();
  return n;
}

std::string group_file_name(std::string_view group) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : group) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
        || c == '_' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  if (out.empty() || out == "." || out == "..")
    out = "%" + out; // never an empty or special directory entry
  return out;
}

} // namespace eventide::core
