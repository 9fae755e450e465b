#include "storage/dead_letter.hpp"

#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"
#include "core/text.hpp"
#include "storage/log_io.hpp"

namespace eventide::storage {

namespace {

constexpr char base64_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Length of the valid UTF-8 sequence starting at bytes[i], or 0 when it is malformed
// (overlong forms, surrogates and code points above U+10FFFF are rejected, per RFC 3629).
size_t utf8_sequence_length(std::string_view bytes, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80)
    return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF; // allowed range of the first continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0)
      lo = 0xA0; // overlong
    if (lead == 0xED)
      hi = 0x9F; // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0)
      lo = 0x90; // overlong
    if (lead == 0xF4)
      hi = 0x8F; // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > bytes.size())
    return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi)
    return 0;
  for (size_t k = 2; k < len; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
      return 0;
  return len;
}

// Keeps valid sequences and replaces each malformed byte with U+FFFD.
std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t len = utf8_sequence_length(bytes, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(bytes.data() + i, len);
      i += len;
    }
  }
  return out;
}

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_text(json_writer& w, const char* name, std::string_view text) {
  w.Key(name);
  std::string clean = sanitize_utf8(text);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

outcome<std::string> require_string(const json::value& obj, const char* member) {
  auto s = json::get_string(obj, member);
  if (!s)
    return fail(std::string("dead letter: member '") + member + "' is missing or not a string");
  return std::move(*s);
}

outcome<int64_t> require_int(const json::value& obj, const char* member) {
  auto n = json::get_int(obj, member);
  if (!n)
    return fail(std::string("dead letter: member '") + member + "' is missing or not an integer");
  return *n;
}

} // namespace

bool is_valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t len = utf8_sequence_length(bytes, i);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += base64_alphabet[n & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = at(i) << 16;
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t n = (at(i) << 16) | (at(i + 1) << 8);
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

outcome<std::string> base64_decode(std::string_view text) {
  static const std::array<int, 256> index = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    for (int k = 0; k < 64; ++k)
      t[static_cast<unsigned char>(base64_alphabet[k])] = k;
    return t;
  }();
  if (text.size() % 4 != 0)
    return fail("base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    size_t padding = 0;
    if (last && text[i + 3] == '=')
      padding = text[i + 2] == '=' ? 2 : 1;
    uint32_t n = 0;
    for (size_t k = 0; k < 4; ++k) {
      int v = 0;
      if (k < 4 - padding) {
        v = index[static_cast<unsigned char>(text[i + k])];
        if (v < 0)
          return fail("base64: invalid character at position " + std::to_string(i + k));
      }
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xFF);
    if (padding < 2)
      out += static_cast<char>((n >> 8) & 0xFF);
    if (padding < 1)
      out += static_cast<char>(n & 0xFF);
  }
  return out;
}

std::string encode_dead_letter(const dead_letter& letter) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  write_text(w, "reason", letter.reason);
  write_text(w, "sourceTopic", letter.source_topic);
  w.Key("partition");
  w.Int(letter.partition);
  w.Key("offset");
  w.Int64(letter.offset);
  write_text(w, "consumerGroup", letter.consumer_group);
  if (letter.key_size >= 0) {
    write_text(w, "key", base64_encode(letter.key));
    write_text(w, "keyEncoding", "base64-prefix");
    w.Key("keySize");
    w.Int64(letter.key_size);
  } else if (is_valid_utf8(letter.key)) {
    write_text(w, "key", letter.key);
  } else {
    // Keys route redriven records to their partition, so a binary key must survive exactly.
    write_text(w, "key", base64_encode(letter.key));
    write_text(w, "keyEncoding", "base64");
  }
  write_text(w, "value", letter.value);
  write_text(w, "valueEncoding", letter.value_encoding);
  w.Key("valueSize");
  w.Int64(letter.value_size);
  w.Key("recordedAtMs");
  w.Int64(letter.recorded_at_ms);
  write_text(w, "node", letter.node);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

outcome<dead_letter> decode_dead_letter(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc)
    return fail("dead letter: " + doc.error());
  const json::value& obj = doc.value();
  if (!obj.IsObject())
    return fail("dead letter: expected a JSON object");

  dead_letter letter;
  for (auto [member, field] :
       {std::pair<const char*, std::string*>{"reason", &letter.reason},
        {"sourceTopic", &letter.source_topic},
        {"consumerGroup", &letter.consumer_group},
        {"key", &letter.key},
        {"value", &letter.value},
        {"valueEncoding", &letter.value_encoding},
        {"node", &letter.node}}) {
    auto s = require_string(obj, member);
    if (!s)
      return std::move(s).take_failure();
    *field = std::move(s).value();
  }

  auto partition = require_int(obj, "partition");
  if (!partition)
    return std::move(partition).take_failure();
  if (*partition < 0 || *partition > INT32_MAX)
    return fail("dead letter: member 'partition' is out of range");
  letter.partition = static_cast<int32_t>(*partition);
  auto offset = require_int(obj, "offset");
  if (!offset)
    return std::move(offset).take_failure();
  letter.offset = *offset;
  auto size = require_int(obj, "valueSize");
  if (!size)
    return std::move(size).take_failure();
  letter.value_size = *size;
  auto at = require_int(obj, "recordedAtMs");
  if (!at)
    return std::move(at).take_failure();
  letter.recorded_at_ms = *at;

  if (letter.value_encoding != "utf8" && letter.value_encoding != "base64"
      && letter.value_encoding != "base64-prefix")
    return fail("dead letter: member 'valueEncoding' must be utf8, base64 or base64-prefix, got '"
                + letter.value_encoding + "'");

  if (auto key_encoding = json::get_string(obj, "keyEncoding")) {
    if (*key_encoding == "base64" || *key_encoding == "base64-prefix") {
      auto raw = base64_decode(letter.key);
      if (!raw)
        return fail("dead letter: member 'key': " + raw.error());
      letter.key = std::move(raw).value();
      if (*key_encoding == "base64-prefix") {
        auto size = require_int(obj, "keySize");
        if (!size)
          return std::move(size).take_failure();
        letter.key_size = *size;
      }
    } else if (*key_encoding != "utf8") {
      return fail("dead letter: member 'keyEncoding' must be utf8, base64 or base64-prefix, "
                  "got '" + *key_encoding + "'");
    }
  }
  return letter;
}

dead_letter make_dead_letter(const record& r, const std::string& group, const std::string& reason,
                             const std::string& node, int64_t now_ms) {
  dead_letter letter;
  letter.reason = core::shorten(reason, dead_letter_max_reason);
  letter.source_topic = r.topic;
  letter.partition = r.partition;
  letter.offset = r.offset;
  letter.consumer_group = group;
  if (r.key.size() > dead_letter_max_whole_key) {
    letter.key = r.key.substr(0, dead_letter_prefix_bytes);
    letter.key_size = static_cast<int64_t>(r.key.size());
  } else {
    letter.key = r.key;
  }
  letter.value_size = static_cast<int64_t>(r.value.size());
  letter.recorded_at_ms = now_ms;
  letter.node = node;
  if (r.value.size() > dead_letter_max_whole_value) {
    // Too big to copy whole into the DLQ; the prefix and size still identify the record and
    // the source offset points at the full original.
    letter.value = base64_encode(std::string_view(r.value).substr(0, dead_letter_prefix_bytes));
    letter.value_encoding = "base64-prefix";
  } else if (is_valid_utf8(r.value)) {
    letter.value = r.value;
    letter.value_encoding = "utf8";
  } else {
    letter.value = base64_encode(r.value);
    letter.value_encoding = "base64";
  }
  return letter;
}

outcome<std::string> original_value(const dead_letter& letter) {
  std::string bytes;
  if (letter.value_encoding == "utf8") {
    bytes = letter.value;
  } else if (letter.value_encoding == "base64") {
    auto decoded = base64_decode(letter.value);
    if (!decoded)
      return fail("dead letter value: " + decoded.error());
    bytes = std::move(decoded).value();
  } else if (letter.value_encoding == "base64-prefix") {
    return fail("dead letter keeps only the first " + std::to_string(dead_letter_prefix_bytes)
                + " of " + std::to_string(letter.value_size)
                + " bytes (base64-prefix); read the original at " + letter.source_topic + "/"
                + std::to_string(letter.partition) + "@" + std::to_string(letter.offset));
  } else {
    return fail("dead letter value: unknown valueEncoding '" + letter.value_encoding + "'");
  }
  if (static_cast<int64_t>(bytes.size()) != letter.value_size)
    return fail("dead letter value: decoded " + std::to_string(bytes.size())
                + " bytes but valueSize says " + std::to_string(letter.value_size));
  return bytes;
}

outcome<std::string> original_key(const dead_letter& letter) {
  if (letter.key_size >= 0)
    return fail("dead letter keeps only the first " + std::to_string(letter.key.size()) + " of "
                + std::to_string(letter.key_size) + " key bytes; read the original at "
                + letter.source_topic + "/" + std::to_string(letter.partition) + "@"
                + std::to_string(letter.offset));
  return letter.key;
}

bool dead_letter_list::apply(const record& rec) {
  dead_letter_entry e;
  e.partition = rec.partition;
  e.offset = rec.offset;
  if (auto doc = json::parse(rec.value); doc && doc->IsObject() && doc->HasMember("redriveOf")) {
    auto of = json::get_string(*doc, "redriveOf").value_or("");
    auto to = json::get_string(*doc, "to").value_or("?");
    if (auto it = by_address_.find(of); it != by_address_.end())
      entries_[it->second].redriven_to = to;
    else
      early_markers_[of] = to;
    return true;
  }
  auto dl = decode_dead_letter(rec.value);
  if (!dl)
    return false;
  e.letter = std::move(*dl);
  e.raw = rec.value;
  if (auto it = early_markers_.find(e.address()); it != early_markers_.end()) {
    e.redriven_to = it->second;
    early_markers_.erase(it);
  }
  by_address_[e.address()] = entries_.size();
  entries_.push_back(std::move(e));
  return true;
}

const dead_letter_entry* dead_letter_list::find(int32_t partition, int64_t offset) const {
  auto it = by_address_.find(std::to_string(partition) + ":" + std::to_string(offset));
  return it == by_address_.end() ? nullptr : &entries_[it->second];
}

std::optional<std::pair<int32_t, int64_t>> parse_dead_letter_address(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size() || colon > 9
      || s.size() - colon - 1 > 18
      || s.find_first_not_of("0123456789") != colon
      || s.find_first_not_of("0123456789", colon + 1) != std::string::npos)
    return std::nullopt;
  return std::make_pair(static_cast<int32_t>(std::stol(s.substr(0, colon))),
                        static_cast<int64_t>(std::stoll(s.substr(colon + 1))));
}

outcome<std::string> redrive_dead_letter(log& l, const dead_letter_entry& entry,
                                         const std::string& value, bool fixed,
                                         const std::string& dlq_topic, int64_t now_ms) {
  auto key = original_key(entry.letter);
  if (!key)
    return fail(key.error());
  auto pos = produce_one(l, entry.letter.source_topic, *key, value);
  if (!pos)
    return fail("redrive failed: " + pos.error());
  auto to = entry.letter.source_topic + "/" + std::to_string(pos->partition) + "@"
            + std::to_string(pos->offset);
  json::document marker;
  marker.SetObject();
  auto& a = marker.GetAllocator();
  marker.AddMember("redriveOf", json::str(entry.address(), a), a);
  marker.AddMember("to", json::str(to, a), a);
  marker.AddMember("fixed", fixed, a);
  marker.AddMember("at", now_ms, a);
  if (auto m = produce_one(l, dlq_topic, entry.letter.key, json::dump(marker)); !m)
    return fail("redrove to " + to + " but could not record it: " + m.error());
  return to;
}

outcome<offsets_by_partition> read_group_letters(log& l, const std::string& dlq_topic,
                                                 const std::string& group,
                                                 std::chrono::milliseconds wait) {
  auto parts = l.partition_count(dlq_topic);
  if (!parts)
    return fail(parts.error());
  std::vector<std::pair<topic_partition, log_offset>> start;
  std::map<topic_partition, int64_t> end; // the high watermark now: read up to there
  for (int32_t p = 0; p < *parts; ++p) {
    topic_partition tp{dlq_topic, p};
    auto marks = l.query_watermarks(tp);
    if (!marks)
      return fail(marks.error());
    if (marks->low > 0)
      return fail(to_string(tp) + " begins at offset " + std::to_string(marks->low)
                  + ": the letters before it are gone");
    if (marks->high > 0) {
      start.emplace_back(tp, log_offset{0});
      end[tp] = marks->high;
    }
  }
  offsets_by_partition out;
  if (start.empty())
    return out;
  auto reader = l.assign(start);
  if (!reader)
    return fail(reader.error());
  std::map<topic_partition, int64_t> next; // past the last record read
  auto done = [&] {
    for (auto& [tp, high] : end) {
      auto pos = (*reader)->position_of(tp);
      if (std::max(pos ? int64_t{*pos} : 0, next[tp]) < high)
        return false;
    }
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      (*reader)->close();
      return fail(dlq_topic + " not read to its end within " + std::to_string(wait.count())
                  + " ms");
    }
    auto batch = (*reader)->poll(512, std::chrono::milliseconds(20));
    if (!batch) {
      (*reader)->close();
      return fail(batch.error());
    }
    for (auto& rec : *batch) {
      topic_partition tp{rec.topic, rec.partition};
      next[tp] = std::max(next[tp], int64_t{rec.offset} + 1);
      if (rec.offset >= end[tp])
        continue; // written after the call
      // Redrive markers and anything else that is not a letter name no offset of the group.
      auto letter = decode_dead_letter(rec.value);
      if (letter && letter->consumer_group == group)
        out[{letter->source_topic, letter->partition}].insert(letter->offset);
    }
  }
  (*reader)->close();
  return out;
}

} // namespace eventide::storage
