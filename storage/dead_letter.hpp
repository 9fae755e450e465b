// The dead-letter record (DESIGN §1.4): what a bridge writes to `dead-letter-queue` when a record
// cannot be handled, so nothing is lost and `eventide dlq` can list, inspect and redrive it.
//
// Wire format: one JSON object with camelCase members
//   { "reason", "sourceTopic", "partition", "offset", "consumerGroup", "key", "value",
//     "valueEncoding", "valueSize", "recordedAtMs", "node" }
// plus "keyEncoding": "base64" only when the original key is not valid UTF-8 (the struct always
// holds the raw key bytes). The DLQ record itself is keyed by the original key.
#pragma once

#include <cstdint>
#include <chrono>
#include <map>
#include <set>
#include <optional>
#include <utility>
#include <vector>
#include <string>
#include <string_view>

#include "storage/log.hpp"
#include "core/outcome.hpp"

namespace eventide::storage {

inline constexpr const char* dead_letter_topic = "dead-letter-queue";

/// Values up to this size are kept whole; larger ones keep only a prefix.
inline constexpr size_t dead_letter_max_whole_value = 64 * 1024;
/// How many leading bytes of an oversized value are kept (base64-encoded).
inline constexpr size_t dead_letter_prefix_bytes = 4 * 1024;
/// Keys up to this size are kept whole; of a larger one only its first bytes (base64). The
/// dead letter is keyed by what it keeps.
inline constexpr size_t dead_letter_max_whole_key = 4 * 1024;
/// Reasons are cut to this many bytes. A reason may quote the record (a key, a subject), and
/// a letter must stay far below a broker's message size limit (about 1 MB on Kafka) whatever
/// the record was, or it could never be written and the group would never get past the record.
inline constexpr size_t dead_letter_max_reason = 4 * 1024;

struct dead_letter {
  std::string reason;
  std::string source_topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string consumer_group;
  std::string key;            // raw bytes of the original key (its first bytes if key_size
                              // is larger: "keyEncoding": "base64-prefix")
  int64_t key_size = -1;      // size of the original key when only a prefix is kept, else -1
  std::string value;          // the original value, encoded per value_encoding
  std::string value_encoding; // "utf8" | "base64" | "base64-prefix"
  int64_t value_size = 0;     // size in bytes of the original value
  int64_t recorded_at_ms = 0;
  std::string node;
};

/// One compact JSON object. Text fields that are not valid UTF-8 have the bad bytes replaced
/// by U+FFFD so the output is always valid JSON; key and value never lose bytes.
std::string encode_dead_letter(const dead_letter& letter);

/// Parses encode_dead_letter's output; fails naming the missing or malformed member.
outcome<dead_letter> decode_dead_letter(std::string_view text);

/// Builds the dead letter for `r`: the value as utf8 when it is valid UTF-8 and <= 64 KiB, as
/// base64 when it is binary and <= 64 KiB, else its first 4 KiB as "base64-prefix"; a key over
/// 4 KiB by its first 4 KiB, the reason cut to 4 KiB. So a letter stays under ~100 kB.
dead_letter make_dead_letter(const record& r, const std::string& group, const std::string& reason,
                             const std::string& node, int64_t now_ms);

/// The original value bytes for redrive; fails for "base64-prefix" (the rest is gone).
outcome<std::string> original_value(const dead_letter& letter);

/// The original key for redrive; fails when only a prefix of it was kept.
outcome<std::string> original_key(const dead_letter& letter);

/// One letter of the dead-letter topic, addressed as "PARTITION:OFFSET" there.
struct dead_letter_entry {
  int32_t partition = 0;
  int64_t offset = 0;
  dead_letter letter;
  std::string raw;         // the dead-letter record's value
  std::string redriven_to; // "topic/p@o" once redriven, else ""
  std::string address() const { return std::to_string(partition) + ":" + std::to_string(offset); }
};

/// The dead-letter topic read as a list: every letter, and which of them were redriven (the
/// marker a redrive writes to the same topic, keyed like its letter).
class dead_letter_list {
 public:
  /// Folds one record of the topic; false when it is neither a letter nor a marker.
  bool apply(const record& rec);
  const std::vector<dead_letter_entry>& entries() const { return entries_; }
  const dead_letter_entry* find(int32_t partition, int64_t offset) const;

 private:
  std::vector<dead_letter_entry> entries_;
  std::map<std::string, size_t> by_address_;
  std::map<std::string, std::string> early_markers_; // a marker read before its letter
};

/// Offsets per source partition.
using offsets_by_partition = std::map<topic_partition, std::set<int64_t>>;

/// Every offset `group` dead-lettered: the source of each of its letters in `dlq_topic`, read
/// from the topic's first offset to its end as it is when called. Fails when the topic no
/// longer begins at offset 0 (retention took letters, so the answer could miss some), when it
/// cannot be read, or when it is not read to its end within `wait`. A group acknowledges a
/// record it dead-letters only once its letter is in the log, so below the group's committed
/// offset this is exactly what it refused.
outcome<offsets_by_partition> read_group_letters(log& l, const std::string& dlq_topic,
                                                 const std::string& group,
                                                 std::chrono::milliseconds wait);

/// "PARTITION:OFFSET" as numbers; nullopt for anything else.
std::optional<std::pair<int32_t, int64_t>> parse_dead_letter_address(const std::string& text);

/// Redrives a letter: `value` (its original bytes, or a fixed version) back to its source topic
/// under its original key, then the marker into `dlq_topic`. Returns where the value went
/// ("topic/p@o"). The caller checks that the value would not be dead-lettered again.
outcome<std::string> redrive_dead_letter(log& l, const dead_letter_entry& entry,
                                         const std::string& value, bool fixed,
                                         const std::string& dlq_topic, int64_t now_ms);

/// Helpers the DLQ format is built on, exposed for the CLI and tests.
bool is_valid_utf8(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
outcome<std::string> base64_decode(std::string_view text);

} // namespace eventide::storage
