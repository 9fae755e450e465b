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

std::pair<int32_t, int64_t> parse_dlq_address(const std::string& s) {
  auto at = storage::parse_dead_letter_address(s);
  if (!at)
    throw usage_error{"a dead letter is addressed as PARTITION:OFFSET (see `eventide dlq list`), got '"
                      + s + "'"};
  return *at;
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
  std::optional<std::pair<int32_t, int64_t>> wanted;
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
  storage::dead_letter_list dlq;
  read_to_end(*log, {t.dead_letters}, [&](const storage::record& rec) { dlq.apply(rec); });
  if (verb == "list") {
    size_t count = 0;
    for (auto& entry : dlq.entries()) {
      auto& dl = entry.letter;
      auto has = [&](const char* k, const std::string& v) {
        auto it = filters.find(k);
        return it == filters.end() || v.find(it->second) != std::string::npos;
      };
      if (!has("group", dl.consumer_group) || !has("topic", dl.source_topic)
          || !has("reason", dl.reason))
        continue;
      std::cout << entry.address() << "  " << dl.source_topic << "/" << dl.partition << "@" << dl.offset
                << "  group=" << dl.consumer_group << "  key=" << dl.key << "  " << dl.reason
                << (entry.redriven_to.empty() ? "" : "  [redriven to " + entry.redriven_to + "]")
                << std::endl;
      ++count;
    }
    std::cout << count << " dead letter" << (count == 1 ? "" : "s") << std::endl;
    return exit_ok;
  }
  auto address = std::to_string(wanted->first) + ":" + std::to_string(wanted->second);
  auto entry = dlq.find(wanted->first, wanted->second);
  if (!entry)
    die(exit_failed, "no dead letter at " + address);
  if (verb == "show") {
    std::cout << entry->raw << std::endl;
    return exit_ok;
  }
  // redrive: the original bytes (or a fixed version) back to the source topic, same key.
  const auto& letter = entry->letter;
  if (!entry->redriven_to.empty())
    die(exit_failed, "dead letter " + address + " was already redriven to " + entry->redriven_to);
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
  auto to = storage::redrive_dead_letter(*log, *entry, value, !fixed_file.empty(), t.dead_letters,
                                        now_ms());
  if (!to)
    die(exit_failed, to.error());
  std::cout << "redrove " << address << " to " << *to << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
