#include "core/retrieval.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace eventide::core {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool all_letters(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Sorted so lookup is a binary search; questions are full of these, documents too.
constexpr std::array<std::string_view, 60> stopwords = {
    "a",     "about", "an",    "and",   "are",   "as",     "at",    "be",     "been",  "but",
    "by",    "can",   "could", "did",   "do",    "does",   "for",   "from",   "give",  "had",
    "has",   "have",  "how",   "i",     "if",    "in",     "into",  "is",     "it",    "its",
    "many",  "me",    "much",  "my",    "of",    "on",     "or",    "our",    "please", "s",
    "should", "t",    "tell",  "than",  "that",  "the",    "their", "there",  "these", "this",
    "those", "to",    "up",    "was",   "we",    "were",   "what",  "which",  "with",  "you"};

// Catalog questions say "cost", "priced", "weigh" or "heavy" where products say "price" and
// "weight"; one canonical word per meaning lets such questions find the facts.
std::string_view canonical(std::string_view stemmed) {
  if (stemmed == "cost" || stemmed == "priced")
    return "price";
  if (stemmed == "weigh" || stemmed == "heavy")
    return "weight";
  return stemmed;
}

} // namespace

bool is_stopword(std::string_view token) {
  return std::binary_search(stopwords.begin(), stopwords.end(), token);
}

std::string stem(std::string_view token) {
  // Only plain words are folded: "s5", "x1" or "4k" are model names, not plurals.
  if (token.size() <= 3 || !all_letters(token))
    return std::string(token);
  if (ends_with(token, "ies") && token.size() > 4) // batteries -> battery
    return std::string(token.substr(0, token.size() - 3)) + "y";
  if (ends_with(token, "sses") || ends_with(token, "ches") || ends_with(token, "shes")
      || ends_with(token, "xes")) // glasses -> glass, watches -> watch, boxes -> box
    return std::string(token.substr(0, token.size() - 2));
  if (ends_with(token, "ss") || ends_with(token, "us") || ends_with(token, "is"))
    return std::string(token); // glass, status, chassis: not plurals
  if (ends_with(token, "s"))   // hours -> hour, headphones -> headphone
    return std::string(token.substr(0, token.size() - 1));
  return std::string(token);
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  auto flush = [&] {
    if (!current.empty() && !is_stopword(current))
      tokens.push_back(std::string(canonical(stem(current))));
    current.clear();
  };
  for (char c : text) {
    if (is_alnum(c))
      current.push_back(lower(c));
    else
      flush();
  }
  flush();
  return tokens;
}

bm25_index::bm25_index(double k1, double b) : k1_(k1), b_(b) {}

void bm25_index::add(document doc) { docs_.push_back(std::move(doc)); }

void bm25_index::build() {
  built_.clear();
  doc_freq_.clear();
  std::size_t total_length = 0;
  for (const auto& d : docs_) {
    indexed entry;
    for (auto& term : tokenize(d.text))
      ++entry.term_freq[term];
    entry.length = 0;
    for (const auto& [term, freq] : entry.term_freq) {
      entry.length += static_cast<std::size_t>(freq);
      ++doc_freq_[term];
    }
    total_length += entry.length;
    built_.push_back(std::move(entry));
  }
  avg_length_ = built_.empty() ? 0 : static_cast<double>(total_length) / built_.size();
}

std::vector<std::string> bm25_index::unique_query_terms(std::string_view query) const {
  std::vector<std::string> terms;
  for (auto& t : tokenize(query))
    if (std::find(terms.begin(), terms.end(), t) == terms.end())
      terms.push_back(std::move(t));
  return terms;
}

double bm25_index::idf(const std::string& term) const {
  auto it = doc_freq_.find(term);
  double n = it == doc_freq_.end() ? 0 : static_cast<double>(it->second);
  double total = static_cast<double>(built_.size());
  return std::log(1.0 + (total - n + 0.5) / (n + 0.5));
}

double bm25_index::term_score(const std::string& term, const indexed& d) const {
  auto it = d.term_freq.find(term);
  if (it == d.term_freq.end())
    return 0;
  double tf = it->second;
  double norm = avg_length_ > 0 ? static_cast<double>(d.length) / avg_length_ : 0;
  return idf(term) * tf * (k1_ + 1) / (tf + k1_ * (1 - b_ + b_ * norm));
}

double bm25_index::score(std::string_view query, std::size_t doc) const {
  if (doc >= built_.size())
    return 0;
  double total = 0;
  for (const auto& term : unique_query_terms(query))
    total += term_score(term, built_[doc]);
  return total;
}

std::vector<hit> bm25_index::search(std::string_view query, std::size_t top_k) const {
  std::vector<hit> hits;
  if (top_k == 0)
    return hits;
  auto terms = unique_query_terms(query);
  for (std::size_t i = 0; i < built_.size(); ++i) {
    double total = 0;
    for (const auto& term : terms)
      total += term_score(term, built_[i]);
    if (total > 0)
      hits.push_back({i, total});
  }
  std::sort(hits.begin(), hits.end(), [this](const hit& x, const hit& y) {
    if (x.score != y.score)
      return x.score > y.score;
    if (docs_[x.doc].id != docs_[y.doc].id)
      return docs_[x.doc].id < docs_[y.doc].id;
    return x.doc < y.doc;
  });
  if (hits.size() > top_k)
    hits.resize(top_k);
  return hits;
}

} // namespace eventide::core
