// The crash-loop guard's decisions (README "Crash-loop guard"), pure: no files, no actors.
//
// Before a consumer bridge hands records to its role it notes, durably, which records it has
// in flight (a crash_note: one write per poll batch). A node that dies leaves its last note
// behind; the next start turns every record the note lists into a strike for that record (per
// consumer group). Records with strikes are suspects: while any suspect of the node is pending
// (the quarantine), each is handled alone in the whole process, noted as "alone" first, so a
// second crash pins the record that caused it and blames nobody else. A record whose strikes
// reach the limit (crash-loop-limit, default 3) is dead-lettered instead of handled.
// actors/crash_guard.hpp does the I/O and the gating; this file decides.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::core {

/// A partition of a topic, as the guard names it (core knows no log types).
struct partition_ref {
  std::string topic;
  int32_t partition = 0;
  friend bool operator<(const partition_ref& a, const partition_ref& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  }
  friend bool operator==(const partition_ref& a, const partition_ref& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
};

/// Consecutive offsets [first, last] of one partition.
struct offset_run {
  partition_ref at;
  int64_t first = 0;
  int64_t last = 0;
};

/// What one consumer group had in flight when it last handed records to its role.
struct crash_note {
  uint64_t run = 0;   // id of the process run that wrote it (applied once, see strike_table)
  bool alone = false; // one suspect handled alone in the whole process (quarantine)
  std::vector<offset_run> runs;

  size_t records() const;
  friend bool operator==(const crash_note& a, const crash_note& b);
};

/// Adds a partition's in-flight offsets (ascending) as runs of consecutive offsets.
void add_in_flight(crash_note& note, const partition_ref& at, const std::set<int64_t>& offsets);

/// Builds a note's stored bytes in buffers it keeps, so that noting a batch allocates nothing
/// once the buffers have grown (the consumer bridge notes every poll batch).
class note_writer {
 public:
  void begin(bool alone);
  /// A partition's in-flight offsets (ascending), as runs of consecutive offsets.
  void add(std::string_view topic, int32_t partition, const std::set<int64_t>& offsets);
  void add_run(std::string_view topic, int32_t partition, int64_t first, int64_t last);
  /// The note as stored (see encode_note), valid until the next begin().
  const std::string& finish(uint64_t run);

 private:
  std::string payload_;
  std::string framed_;
};

/// A note as stored: a 32-byte header (magic, run, payload length, FNV-1a of the payload) and a
/// text payload. Written in one write() call, so a killed process leaves the old or the new
/// note whole; a torn one (an OS crash) fails its checksum and reads as corrupt.
std::string encode_note(const crash_note& note);
/// The note of a run that writes "nothing in flight": a header with an empty payload.
std::string encode_cleared_note(uint64_t run);
/// Reads a stored note: nullopt for a missing or cleared one, a failure for a corrupt one.
outcome<std::optional<crash_note>> decode_note(std::string_view bytes);

/// What the guard does with a record.
enum class crash_verdict {
  handle,      // as usual (in a batch)
  alone,       // a suspect during the quarantine: alone in flight in the whole process
  dead_letter, // in flight at `limit` crashes: dead-lettered, never handed to the role
};

/// The reason written into the dead letter: "crashed the node N times".
std::string crash_loop_reason(uint32_t strikes);

/// One consumer group's strikes: how many crashes each record was in flight at. Persisted as
/// text with the id of the last note applied, so applying a note twice (a crash between
/// storing the strikes and clearing the note) counts it once.
class strike_table {
 public:
  bool empty() const { return by_partition_.empty(); }
  size_t size() const;
  uint32_t of(const partition_ref& at, int64_t offset) const;
  bool has(const partition_ref& at) const { return by_partition_.count(at) > 0; }
  std::vector<partition_ref> partitions() const;
  /// Offsets of the partition with strikes and no dead letter yet (suspects), ascending.
  std::set<int64_t> suspects(const partition_ref& at) const;
  /// Whether any record has strikes and no dead letter yet.
  bool has_suspects() const;

  /// One strike for every record the note lists, unless this note (its run) was applied
  /// already. Returns whether anything changed.
  bool apply(const crash_note& note);
  uint64_t applied_run() const { return applied_run_; }

  /// Whether the record reached the limit and its dead letter was written.
  bool dead_lettered(const partition_ref& at, int64_t offset) const;

  /// The record was acknowledged without crashing the node. Under the limit it is forgiven (no
  /// longer a suspect); at the limit it was dead-lettered, which is remembered, so that a
  /// replay (restore mode reads old records again) passes over it instead of handing it to
  /// the role or writing a second dead letter. Returns whether anything changed.
  bool settle(const partition_ref& at, int64_t offset, uint32_t limit);
  /// Drops the strikes this assignment will never read: below `from` (where reading starts)
  /// and at or above `high` (past the end of the log, e.g. a recreated topic). Returns whether
  /// anything changed.
  bool forget_outside(const partition_ref& at, std::optional<int64_t> from,
                      std::optional<int64_t> high);

  crash_verdict judge(const partition_ref& at, int64_t offset, uint32_t limit,
                      bool quarantine) const;

  std::string encode() const;
  static outcome<strike_table> decode(std::string_view text);

 private:
  struct entry {
    uint32_t strikes = 0;
    bool dead_lettered = false;
  };
  std::map<partition_ref, std::map<int64_t, entry>> by_partition_;
  uint64_t applied_run_ = 0;
};

/// The verdict for a record with `strikes`: dead-letter at the limit; alone while the node is
/// in quarantine; else handle. limit 0 turns the guard off (always handle).
crash_verdict judge(uint32_t strikes, uint32_t limit, bool quarantine);

/// One group's part of the quarantine: which suspects are still to be handled. A group that
/// starts with strikes is pending until it has seen its assignment (until then it cannot know
/// which suspects are its own) and then until every suspect of its partitions has passed.
class suspect_tracker {
 public:
  /// starts_pending: the group had strikes when the node started.
  explicit suspect_tracker(bool starts_pending = false) : waiting_assignment_(starts_pending) {}
  /// The group's assignment changed (possibly to nothing); `suspects` are the strikes of each
  /// newly assigned partition still to be read.
  void assigned(const partition_ref& at, std::set<int64_t> suspects);
  void assignment_seen() { waiting_assignment_ = false; }
  void revoked(const partition_ref& at) { pending_.erase(at); }
  /// A record of the partition was handled or dead-lettered: suspects up to it are past (a
  /// suspect skipped over, e.g. deleted by retention, will not come again).
  void passed(const partition_ref& at, int64_t offset);
  bool done() const { return !waiting_assignment_ && pending_.empty(); }
  size_t pending() const;

 private:
  bool waiting_assignment_;
  std::map<partition_ref, std::set<int64_t>> pending_;
};

/// A consumer group name as a file name: [A-Za-z0-9._-] kept, every other byte %XX.
std::string group_file_name(std::string_view group);

} // namespace eventide::core
