// dlq: lists dead letters, shows one in full, or redrives one (or a fixed version) to its topic.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "actors/node.hpp"
#include "storage/dead_letter.hpp"
#include "commands.hpp"
#include "core/json.hpp"
#include "log_io.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

namespace {

// A dead letter's address in the DLQ topic: "PARTITION:OFFSET".
struct dlq_address {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string text() const { return std::to_string(partition) + ":" + std::to_string(offset); }
};

dlq_address parse_dlq_address(const std::string& s) {
  auto colon = s.find(':');
  try {
    if (colon == std::string::npos)
      throw std::invalid_argument(s);
    size_t used1 = 0, used2 = 0;
    auto p = std::stoi(s.substr(0, colon), &used1);
    auto o = std::stoll(s.substr(colon + 1), &used2);
    if (used1 != colon || used2 != s.size() - colon - 1 || p < 0 || o < 0)
      throw std::invalid_argument(s);
    return {p, o};
  } catch (const std::exception&) {
    throw usage_error{"a dead letter is addressed as PARTITION:OFFSET (see `eventide dlq list`), got '"
                      + s + "'"};
  }
}

// Dead letters in the DLQ topic, and which of them were redriven (markers in the same topic).
struct dlq_contents {
  std::vector<std::pair<dlq_address, storage::dead_letter>> letters;
  std::map<std::string, std::string> redriven; // address -> where it went
  std::map<std::string, std::string> raw;      // address -> record value
};

dlq_contents read_dlq(storage::log& log, const topics& t) {
  dlq_contents c;
  read_to_end(log, {t.dead_letters}, [&](const storage::record& rec) {
    dlq_address at{rec.partition, rec.offset};
    if (auto doc = json::parse(rec.value); doc && doc->IsObject() && doc->HasMember("redriveOf")) {
      c.redriven[json::get_string(*doc, "redriveOf").value_or("")] =
        json::get_string(*doc, "to").value_or("?");
      return;
    }
    if (auto dl = storage::decode_dead_letter(rec.value)) {
      c.raw[at.text()] = rec.value;
      c.letters.emplace_back(at, std::move(*dl));
    }
  });
  return c;
}

} // namespace

int run_dlq(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  const char* usage = "usage: eventide dlq list [group=G] [topic=T] [reason=TEXT] | "
                      "dlq show P:OFFSET | dlq redrive P:OFFSET [FIXED_VALUE_FILE]";
  if (cl.positionals.empty())
    throw usage_error{usage};
  const auto& verb = cl.positionals[0];
  if (verb != "list" && verb != "show" && verb != "redrive")
    throw usage_error{usage};
  std::map<std::string, std::string> filters;
  std::optional<dlq_address> wanted;
  std::string fixed_file;
  if (verb == "list") {
    for (size_t i = 1; i < cl.positionals.size(); ++i) {
      auto& f = cl.positionals[i];
      auto eq = f.find('=');
      auto k = f.substr(0, eq);
      if (eq == std::string::npos || (k != "group" && k != "topic" && k != "reason"))
        throw usage_error{"unknown filter '" + f + "' (group=G, topic=T, reason=TEXT)"};
      filters[k] = f.substr(eq + 1);
    }
  } else {
    if (cl.positionals.size() < 2 || cl.positionals.size() > (verb == "redrive" ? 3u : 2u))
      throw usage_error{usage};
    wanted = parse_dlq_address(cl.positionals[1]);
    if (cl.positionals.size() == 3)
      fixed_file = cl.positionals[2];
  }
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  auto dlq = read_dlq(*log, t);
  if (verb == "list") {
    size_t count = 0;
    for (auto& [at, dl] : dlq.letters) {
      auto has = [&](const char* k, const std::string& v) {
        auto it = filters.find(k);
        return it == filters.end() || v.find(it->second) != std::string::npos;
      };
      if (!has("group", dl.consumer_group) || !has("topic", dl.source_topic)
          || !has("reason", dl.reason))
        continue;
      auto r = dlq.redriven.find(at.text());
      std::cout << at.text() << "  " << dl.source_topic << "/" << dl.partition << "@" << dl.offset
                << "  group=" << dl.consumer_group << "  key=" << dl.key << "  " << dl.reason
                << (r != dlq.redriven.end() ? "  [redriven to " + r->second + "]" : "")
                << std::endl;
      ++count;
    }
    std::cout << count << " dead letter" << (count == 1 ? "" : "s") << std::endl;
    return exit_ok;
  }
  auto it = std::find_if(dlq.letters.begin(), dlq.letters.end(), [&](const auto& x) {
    return x.first.partition == wanted->partition && x.first.offset == wanted->offset;
  });
  if (it == dlq.letters.end())
    die(exit_failed, "no dead letter at " + wanted->text());
  if (verb == "show") {
    std::cout << dlq.raw[wanted->text()] << std::endl;
    return exit_ok;
  }
  // redrive: the original bytes (or a fixed version) back to the source topic, same key.
  const auto& letter = it->second;
  if (auto r = dlq.redriven.find(wanted->text()); r != dlq.redriven.end())
    die(exit_failed, "dead letter " + wanted->text() + " was already redriven to " + r->second);
  std::string value;
  if (!fixed_file.empty()) {
    std::ifstream in(fixed_file, std::ios::binary);
    if (!in)
      die(exit_usage, "cannot read " + fixed_file);
    value.assign(std::istreambuf_iterator<char>(in), {});
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
      value.pop_back();
  } else {
    auto original = storage::original_value(letter);
    if (!original)
      die(exit_failed, original.error() + " (pass a fixed value file)");
    value = std::move(*original);
  }
  // Refuse to redrive what would be dead-lettered again right away.
  if (auto ev = events::decode(value); !ev)
    die(exit_failed, "the record would be dead-lettered again: " + ev.error()
                       + " (fix it and pass the fixed value file)");
  auto produce = [&](const std::string& topic, const std::string& key, const std::string& v) {
    auto r = produce_one(*log, topic, key, v);
    if (!r)
      die(exit_failed, "redrive failed: " + r.error());
    return *r;
  };
  auto key = storage::original_key(letter);
  if (!key)
    die(exit_failed, key.error());
  auto pos = produce(letter.source_topic, *key, value);
  auto to = letter.source_topic + "/" + std::to_string(pos.partition) + "@" + std::to_string(pos.offset);
  json::document marker;
  marker.SetObject();
  auto& a = marker.GetAllocator();
  marker.AddMember("redriveOf", json::str(wanted->text(), a), a);
  marker.AddMember("to", json::str(to, a), a);
  marker.AddMember("fixed", !fixed_file.empty(), a);
  marker.AddMember("at", now_ms(), a);
  produce(t.dead_letters, letter.key, json::dump(marker));
  std::cout << "redrove " << wanted->text() << " to " << to << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
