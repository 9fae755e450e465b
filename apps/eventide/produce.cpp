// produce: appends one raw record (a file's bytes or stdin) to a topic, or many from a records
// file (one a line, escaped as `dump` writes them).
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "core/text.hpp"
#include "log_io.hpp"

namespace eventide::cli {

namespace {

struct raw_record {
  std::string topic, key, value;
};

// One line of a records file: TOPIC\tKEY\tVALUE, or a `dump` line (TOPIC\tPARTITION\tOFFSET\t
// KEY\tVALUE; partition and offset are ignored), with \t \n \r \\ escaped in every field. Raw
// bytes (a NUL, invalid UTF-8) pass as they are.
std::optional<raw_record> parse_line(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos)
      break;
    start = tab + 1;
  }
  if (fields.size() == 5)
    fields.erase(fields.begin() + 1, fields.begin() + 3);
  if (fields.size() != 3 || fields[0].empty())
    return std::nullopt;
  return raw_record{core::unescape(fields[0]), core::unescape(fields[1]),
                    core::unescape(fields[2])};
}

std::string read_all(const std::string& path) {
  if (path == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw usage_error{"cannot read " + path};
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Appends every record of a records file in order, waits for every delivery, and prints where
// each went (one "topic/partition@offset" line per record, in the file's order).
int produce_file(const options& cfg, const std::string& path) {
  std::vector<raw_record> records;
  {
    auto text = read_all(path);
    size_t start = 0, line_no = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos)
        end = text.size();
      ++line_no;
      std::string line = text.substr(start, end - start);
      start = end + 1;
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line.empty())
        continue;
      auto rec = parse_line(line);
      if (!rec)
        throw usage_error{path + ":" + std::to_string(line_no)
                          + ": expected TOPIC<tab>KEY<tab>VALUE (\\t \\n \\r \\\\ escaped)"};
      records.push_back(std::move(*rec));
    }
  }
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  std::vector<std::optional<outcome<storage::position>>> results(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    log->produce(cfg.topic_prefix + records[i].topic, records[i].key,
                 std::move(records[i].value),
                 [&results, i](outcome<storage::position> r) { results[i] = std::move(r); });
    if (i % 256 == 255)
      log->serve(std::chrono::milliseconds(0)); // delivery reports, so the queue stays short
  }
  if (auto fl = log->flush(std::chrono::seconds(60)); !fl)
    die(exit_failed, "not every record was delivered: " + fl.error());
  size_t failed = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    auto& r = results[i];
    if (!r || !*r) {
      ++failed;
      std::cerr << "eventide: record " << i + 1 << " (" << records[i].topic << "): "
                << (r ? r->error() : "no delivery report") << "\n";
      std::cout << "-\n";
      continue;
    }
    std::cout << cfg.topic_prefix << records[i].topic << "/" << (*r)->partition << "@"
              << (*r)->offset << "\n";
  }
  std::cout.flush();
  if (failed)
    die(exit_failed, std::to_string(failed) + " of " + std::to_string(records.size())
                       + " records were not written");
  return exit_ok;
}

} // namespace

// Appends one raw record (any bytes) to a topic: kcat's job for the embedded log.
int run_produce(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (cl.positionals.size() == 1)
    return produce_file(cfg, cl.positionals[0]);
  if (cl.positionals.size() != 3)
    throw usage_error{"usage: eventide produce TOPIC KEY VALUE_FILE (- for stdin), or "
                      "eventide produce RECORDS_FILE (- for stdin)"};
  std::string value = read_all(cl.positionals[2]);
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  auto topic = cfg.topic_prefix + cl.positionals[0];
  auto at = produce_one(*log, topic, cl.positionals[1], value);
  if (!at)
    die(exit_failed, at.error());
  std::cout << topic << "/" << at->partition << "@" << at->offset << std::endl;
  return exit_ok;
}

} // namespace eventide::cli
