// The bundled product catalog (products/<id>.md, format in products/README.md): loading,
// chunking into retrievable passages, and BM25 retrieval over them.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"
#include "core/retrieval.hpp"

namespace eventide::providers {

struct product {
  std::string id, name, category, currency;
  std::string source; // "products/aurora-x1.md": folder name + file name
  double price = 0;
  std::vector<std::pair<std::string, std::string>> facts; // front matter order, other keys
  std::string body;                                       // Markdown after the front matter
};

/// Parses one product file's text. `source` names it in errors ("products/x.md:4: ...") and
/// becomes product::source; `expected_id` (the file name stem) must equal the `id` field when
/// non-empty.
outcome<product> parse_product(const std::string& text, const std::string& source,
                               const std::string& expected_id = "");

/// Reads every *.md file of `dir` except README.md, sorted by file name. Fails on the first
/// malformed file, on an empty catalog, or on a product name that contains another's.
outcome<std::vector<product>> load_catalog(const std::string& dir);

struct chunk {
  std::string id;         // "<product id>#<n>", n = 0 for the facts chunk
  std::string product_id;
  std::string source;     // the product's file
  std::string text;       // first line "<name> — <title>", then the passage
};

/// The facts chunk followed by one chunk per Markdown section of the body.
std::vector<chunk> chunk_product(const product& p);

/// "1299.00": prices always with two decimals, as written in the catalog.
std::string format_price(double price);

struct scored_chunk {
  chunk passage;
  double score = 0;
};

struct product_match {
  const product* item = nullptr; // valid while the retriever lives
  double score = 0;              // sum of the product's two best chunk scores
  bool name_in_query = false;    // every token of the product name occurs in the query
};

/// Owns a catalog and a BM25 index over its chunks.
class product_retriever {
 public:
  explicit product_retriever(std::vector<product> catalog);

  /// Loads `dir` with load_catalog.
  static outcome<product_retriever> open(const std::string& dir);

  /// The k best chunks with a positive score, best first (ties by chunk id). With a dense
  /// scorer that has no scores for this query, `dense_unavailable` (when given) receives why and
  /// the query is ranked by BM25 alone; it is left empty otherwise.
  std::vector<scored_chunk> search(std::string_view query, std::size_t k,
                                   std::string* dense_unavailable = nullptr) const;

  /// The product the query is about, or nullopt when no chunk matches at all.
  /// Rule: products whose whole name occurs in the query (as tokens) beat all others; then the
  /// higher sum of the product's two best chunk scores; then the smaller product id.
  /// `dense_unavailable` as for search().
  std::optional<product_match> best_product(std::string_view query,
                                            std::string* dense_unavailable = nullptr) const;

  const std::vector<product>& products() const { return catalog_; }
  const product* find(std::string_view id) const;

  /// Every chunk, in index order (the order a dense_scorer's scores follow).
  const std::vector<chunk>& chunks() const { return chunks_; }

  /// Dense similarity of a query to every chunk (cosine, one per chunk in chunks() order), or
  /// an empty vector when unavailable (e.g. the embedding service or the vector store is down),
  /// with the reason in `unavailable`.
  using dense_scorer =
      std::function<std::vector<double>(std::string_view query, std::string& unavailable)>;

  /// Hybrid ranking for search() and best_product(): a chunk scores
  ///   w * bm25 / max_bm25 + (1 - w) * max(cosine, 0)
  /// where max_bm25 is the query's best BM25 score over all chunks (the term is 0 when nothing
  /// matches lexically) and w = bm25_weight in [0, 1]. Chunks scoring 0 are left out. When the
  /// scorer returns no scores for a query, that query is ranked by BM25 alone. `vector_store`
  /// names where the chunk vectors live ("embedded": in this process, "chroma").
  void set_dense_scorer(dense_scorer scorer, double bm25_weight,
                        std::string vector_store = "embedded");
  bool hybrid() const { return static_cast<bool>(dense_); }
  /// Where the dense scores come from ("embedded", "chroma"); "" without a dense scorer.
  const std::string& vector_store() const { return vector_store_; }

 private:
  struct ranked_chunk {
    std::size_t chunk = 0;
    double score = 0;
  };
  // The k best chunks by the active ranking, best first, ties by chunk id.
  std::vector<ranked_chunk> rank(std::string_view query, std::size_t k,
                                 std::string* dense_unavailable) const;

  std::vector<product> catalog_;
  std::vector<chunk> chunks_;
  core::bm25_index index_;
  dense_scorer dense_;
  double bm25_weight_ = 1;
  std::string vector_store_;
};

} // namespace eventide::providers
