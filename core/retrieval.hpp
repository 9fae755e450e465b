// Lexical retrieval: a small English tokenizer and an Okapi BM25 index. Pure and deterministic
// (no I/O, no randomness): the same documents and query always give the same ranking, which is
// what lets tool results be replayed and compared byte for byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace eventide::core {

/// Lowercases ASCII, splits on anything that is not a letter or digit, drops stopwords and
/// folds plurals ("batteries" -> "battery", "watches" -> "watch", "hours" -> "hour") and a few
/// catalog synonyms ("cost"/"costs"/"priced" -> "price", "weigh"/"weighs"/"heavy" -> "weight").
/// Numbers are kept as tokens ("1299.00" -> "1299", "00"; "x1" stays "x1").
std::vector<std::string> tokenize(std::string_view text);

/// The plural folding used by tokenize, for one already-lowercased token.
std::string stem(std::string_view token);

/// True for the small English stopword list tokenize drops ("the", "what", "of", ...).
bool is_stopword(std::string_view lowercase_token);

struct document {
  std::string id;         // unique, also the tie-breaker of equal scores
  std::string text;       // what is tokenized and scored
  std::string source;     // where the text came from, e.g. "products/aurora-x1.md"
  std::string product_id; // owner, empty when not a product chunk
};

struct hit {
  std::size_t doc = 0; // index in add() order
  double score = 0;
};

/// Okapi BM25 with the non-negative idf of Lucene: idf = ln(1 + (N - n + 0.5) / (n + 0.5)),
/// term score = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)).
/// A query term counts once however often it appears in the query.
class bm25_index {
 public:
  explicit bm25_index(double k1 = 1.2, double b = 0.75);

  /// Adds a document; it becomes searchable at the next build().
  void add(document doc);
  /// Computes document frequencies and lengths for every document added so far.
  void build();

  /// Documents with a positive score, best first; equal scores are ordered by document id,
  /// then by add() order. At most top_k hits (top_k == 0 means none).
  std::vector<hit> search(std::string_view query, std::size_t top_k) const;
  /// The BM25 score of one built document for the query (0 when out of range).
  double score(std::string_view query, std::size_t doc) const;

  const document& doc(std::size_t index) const { return docs_[index]; }
  std::size_t size() const { return docs_.size(); }

 private:
  struct indexed {
    std::unordered_map<std::string, int> term_freq;
    std::size_t length = 0;
  };

  std::vector<std::string> unique_query_terms(std::string_view query) const;
  double idf(const std::string& term) const;
  double term_score(const std::string& term, const indexed& d) const;

  double k1_;
  double b_;
  std::vector<document> docs_;
  std::vector<indexed> built_; // one per document as of the last build()
  std::unordered_map<std::string, std::size_t> doc_freq_;
  double avg_length_ = 0;
};

} // namespace eventide::core
