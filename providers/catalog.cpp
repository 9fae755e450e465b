#include "providers/catalog.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace eventide::providers {

using core::trim;

namespace fs = std::filesystem;

namespace {

std::string lowercase(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

bool valid_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool valid_id(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool valid_currency(const std::string& code) {
  return code.size() == 3
         && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A plain decimal number: digits with at most one dot, no sign, exponent or spaces.
std::optional<double> parse_price(const std::string& text) {
  bool digit_seen = false;
  int dots = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9')
      digit_seen = true;
    else if (c == '.')
      ++dots;
    else
      return std::nullopt;
  }
  if (!digit_seen || dots > 1)
    return std::nullopt;
  double value = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(value))
    return std::nullopt;
  return value;
}

// "battery" -> "Battery", "screen_size" -> "Screen size".
std::string fact_label(const std::string& key) {
  std::string label = key;
  for (auto& c : label)
    if (c == '_' || c == '-')
      c = ' ';
  if (!label.empty() && label[0] >= 'a' && label[0] <= 'z')
    label[0] = static_cast<char>(label[0] - 'a' + 'A');
  return label;
}

std::string end_sentence(std::string s) {
  if (!s.empty() && s.back() != '.' && s.back() != '!' && s.back() != '?')
    s += '.';
  return s;
}

bool is_bullet(const std::string& line) {
  return line.size() >= 2 && (line[0] == '-' || line[0] == '*') && line[1] == ' ';
}

// Heading level (number of leading '#', followed by a space), 0 when not a heading.
std::size_t heading_level(const std::string& line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == '#')
    ++n;
  return (n > 0 && n < line.size() && line[n] == ' ') ? n : 0;
}

struct section {
  std::string title;
  std::vector<std::string> lines; // paragraphs joined into one line, one line per bullet
};

// Splits a Markdown body into sections. Lines of a paragraph are joined with spaces so a
// sentence wrapped across lines stays one sentence.
std::vector<section> split_sections(const std::string& body, const std::string& product_name) {
  std::vector<section> sections(1, section{"Overview", {}});
  bool in_paragraph = false; // the last line of the current section can be continued
  for (const auto& raw : split_lines(body)) {
    std::string line = trim(raw);
    if (auto level = heading_level(line)) {
      std::string heading = trim(std::string_view(line).substr(level));
      bool repeats_name = level == 1 && lowercase(heading) == lowercase(product_name);
      sections.push_back(section{repeats_name ? "Overview" : heading, {}});
      in_paragraph = false;
      continue;
    }
    auto& current = sections.back();
    if (line.empty()) {
      in_paragraph = false;
    } else if (is_bullet(line)) {
      current.lines.push_back(line);
      in_paragraph = true; // an indented continuation belongs to the bullet
    } else if (in_paragraph && !current.lines.empty()) {
      current.lines.back() += " " + line;
    } else {
      current.lines.push_back(line);
      in_paragraph = true;
    }
  }
  sections.erase(std::remove_if(sections.begin(), sections.end(),
                                [](const section& s) { return s.lines.empty(); }),
                 sections.end());
  return sections;
}

std::string read_file(const fs::path& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

std::string format_price(double price) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", price);
  return buf;
}

outcome<product> parse_product(const std::string& text, const std::string& source,
                               const std::string& expected_id) {
  auto lines = split_lines(text);
  if (lines.empty() || trim(lines[0]) != "---")
    return fail(source + ":1: expected '---' to open the front matter");

  std::map<std::string, std::size_t> line_of; // key -> 1-based line number
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t close = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string line = trim(lines[i]);
    std::string where = source + ":" + std::to_string(i + 1) + ": ";
    if (line == "---") {
      close = i;
      break;
    }
    if (line.empty())
      continue;
    auto colon = line.find(':');
    std::string key = colon == std::string::npos ? "" : trim(line.substr(0, colon));
    if (!valid_key(key))
      return fail(where + "expected 'key: value' with a lowercase key, got '" + line + "'");
    std::string value = trim(line.substr(colon + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')
        && value.back() == value.front())
      value = trim(value.substr(1, value.size() - 2)); // YAML-style quoting, as the planner reads it
    if (value.empty())
      return fail(where + "field '" + key + "' has no value");
    if (line_of.count(key))
      return fail(where + "duplicate field '" + key + "'");
    line_of[key] = i + 1;
    fields.emplace_back(key, value);
  }
  if (close == 0)
    return fail(source + ": front matter is not closed with '---'");

  for (const char* required : {"id", "name", "category", "price", "currency"})
    if (!line_of.count(required))
      return fail(source + ": missing required field '" + required + "'");

  product p;
  p.source = source;
  for (const auto& [key, value] : fields) {
    std::string where = source + ":" + std::to_string(line_of[key]) + ": ";
    if (key == "id") {
      if (!valid_id(value))
        return fail(where + "id '" + value + "' may only use lowercase letters, digits and '-'");
      if (!expected_id.empty() && value != expected_id)
        return fail(where + "id '" + value + "' does not match the file name '" + expected_id
                    + ".md'");
      p.id = value;
    } else if (key == "name") {
      p.name = value;
    } else if (key == "category") {
      p.category = value;
    } else if (key == "price") {
      auto price = parse_price(value);
      if (!price)
        return fail(where + "price '" + value + "' is not a number (write it like 1299.00)");
      p.price = *price;
    } else if (key == "currency") {
      if (!valid_currency(value))
        return fail(where + "currency '" + value + "' is not an ISO 4217 code like USD");
      p.currency = value;
    } else if (key == "stock") {
      // The shop's initial stock (shop/products.cpp); the live count is the shop's, not a fact.
    } else {
      p.facts.emplace_back(key, value);
    }
  }

  std::string body;
  for (std::size_t i = close + 1; i < lines.size(); ++i)
    body += lines[i] + "\n";
  p.body = trim(body, " \t\r\n");
  return p;
}

outcome<std::vector<product>> load_catalog(const std::string& dir) {
  std::error_code ec;
  fs::path root(dir);
  if (!fs::is_directory(root, ec))
    return fail("product folder '" + dir + "' does not exist or is not a folder");

  // Sources read "products/<file>": the folder's own name, whatever the absolute path.
  fs::path normal = root.lexically_normal();
  std::string folder = normal.filename().string();
  if (folder.empty())
    folder = normal.parent_path().filename().string();

  std::vector<fs::path> files;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (path.extension() == ".md" && path.filename() != "README.md"
        && it->is_regular_file(ec))
      files.push_back(path);
  }
  if (ec)
    return fail("cannot list product folder '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty())
    return fail("product folder '" + dir + "' has no product files (*.md)");

  std::vector<product> catalog;
  for (const auto& path : files) {
    std::string source = folder + "/" + path.filename().string();
    bool ok = false;
    std::string text = read_file(path, ok);
    if (!ok)
      return fail(source + ": cannot be read");
    auto parsed = parse_product(text, source, path.stem().string());
    if (!parsed)
      return std::move(parsed).take_failure();
    catalog.push_back(std::move(parsed.value()));
  }

  // The planner finds products by name inside questions, so no name may contain another.
  for (const auto& a : catalog)
    for (const auto& b : catalog)
      if (&a != &b && lowercase(a.name).find(lowercase(b.name)) != std::string::npos)
        return fail(a.source + ": name '" + a.name + "' contains the name '" + b.name + "' of "
                    + b.source + "; product names must not contain each other");
  return catalog;
}

std::vector<chunk> chunk_product(const product& p) {
  std::vector<chunk> chunks;
  auto add = [&](const std::string& title, const std::string& passage) {
    chunks.push_back(chunk{p.id + "#" + std::to_string(chunks.size()), p.id, p.source,
                           p.name + " — " + title + "\n" + passage});
  };

  std::string facts = p.name + " (" + p.category + ") costs " + format_price(p.price) + " "
                      + p.currency + ".";
  for (const auto& [key, value] : p.facts)
    facts += " " + fact_label(key) + ": " + end_sentence(value);
  add("Key facts", facts);

  for (const auto& s : split_sections(p.body, p.name)) {
    std::string passage;
    for (const auto& line : s.lines)
      passage += (passage.empty() ? "" : "\n") + line;
    add(s.title, passage);
  }
  return chunks;
}

product_retriever::product_retriever(std::vector<product> catalog)
    : catalog_(std::move(catalog)) {
  for (const auto& p : catalog_)
    for (auto& c : chunk_product(p)) {
      index_.add(core::document{c.id, c.text, c.source, c.product_id});
      chunks_.push_back(std::move(c));
    }
  index_.build();
}

outcome<product_retriever> product_retriever::open(const std::string& dir) {
  auto catalog = load_catalog(dir);
  if (!catalog)
    return std::move(catalog).take_failure();
  return product_retriever(std::move(catalog.value()));
}

std::vector<scored_chunk> product_retriever::search(std::string_view query, std::size_t k,
                                                   std::string* dense_unavailable) const {
  std::vector<scored_chunk> out;
  for (const auto& r : rank(query, k, dense_unavailable))
    out.push_back(scored_chunk{chunks_[r.chunk], r.score});
  return out;
}

void product_retriever::set_dense_scorer(dense_scorer scorer, double bm25_weight,
                                         std::string vector_store) {
  dense_ = std::move(scorer);
  bm25_weight_ = std::clamp(bm25_weight, 0.0, 1.0);
  vector_store_ = dense_ ? std::move(vector_store) : std::string();
}

std::vector<product_retriever::ranked_chunk> product_retriever::rank(
    std::string_view query, std::size_t k, std::string* dense_unavailable) const {
  std::vector<ranked_chunk> out;
  std::vector<double> dense;
  if (dense_) {
    std::string unavailable;
    dense = dense_(query, unavailable);
    if (dense.size() != chunks_.size() && unavailable.empty())
      unavailable = "dense scorer gave " + std::to_string(dense.size()) + " scores for "
                    + std::to_string(chunks_.size()) + " chunks";
    if (dense.size() != chunks_.size() && dense_unavailable)
      *dense_unavailable = unavailable;
  }
  if (dense.size() != chunks_.size()) { // BM25 alone
    for (const auto& h : index_.search(query, k))
      out.push_back(ranked_chunk{h.doc, h.score});
    return out;
  }
  std::vector<double> lexical(chunks_.size(), 0.0);
  double best_lexical = 0;
  for (const auto& h : index_.search(query, chunks_.size())) {
    lexical[h.doc] = h.score;
    best_lexical = std::max(best_lexical, h.score);
  }
  for (std::size_t i = 0; i < chunks_.size(); ++i) {
    double score = (1 - bm25_weight_) * std::max(dense[i], 0.0);
    if (best_lexical > 0)
      score += bm25_weight_ * lexical[i] / best_lexical;
    if (score > 0)
      out.push_back(ranked_chunk{i, score});
  }
  std::sort(out.begin(), out.end(), [&](const ranked_chunk& a, const ranked_chunk& b) {
    if (a.score != b.score)
      return a.score > b.score;
    return chunks_[a.chunk].id < chunks_[b.chunk].id;
  });
  if (out.size() > k)
    out.resize(k);
  return out;
}

const product* product_retriever::find(std::string_view id) const {
  for (const auto& p : catalog_)
    if (p.id == id)
      return &p;
  return nullptr;
}

std::optional<product_match> product_retriever::best_product(std::string_view query,
                                                            std::string* dense_unavailable) const {
  // Hits arrive best first, so the first two per product are its two best chunks.
  std::map<std::string, std::pair<double, int>> per_product; // id -> (sum, chunks counted)
  for (const auto& h : rank(query, chunks_.size(), dense_unavailable)) {
    auto& entry = per_product[chunks_[h.chunk].product_id];
    if (entry.second < 2) {
      entry.first += h.score;
      ++entry.second;
    }
  }
  if (per_product.empty())
    return std::nullopt;

  auto query_tokens = core::tokenize(query);
  std::set<std::string> query_terms(query_tokens.begin(), query_tokens.end());
  auto name_in_query = [&](const product& p) {
    auto name_tokens = core::tokenize(p.name);
    return !name_tokens.empty()
           && std::all_of(name_tokens.begin(), name_tokens.end(),
                          [&](const std::string& t) { return query_terms.count(t) > 0; });
  };

  std::optional<product_match> best;
  for (const auto& [id, entry] : per_product) { // map order: ties go to the smaller id
    const product* p = find(id);
    product_match candidate{p, entry.first, name_in_query(*p)};
    if (!best || candidate.name_in_query > best->name_in_query
        || (candidate.name_in_query == best->name_in_query && candidate.score > best->score))
      best = candidate;
  }
  return best;
}

} // namespace eventide::providers
