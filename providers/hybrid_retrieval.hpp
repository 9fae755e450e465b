// Hybrid retrieval: BM25 mixed with embedding cosine similarity (see
// product_retriever::set_dense_scorer for the formula). Chunk embeddings are cached in a file
// keyed by a hash of products/ and the embedding provider/model, so they are recomputed only
// when the catalog or the model changes. The vectors are stored and searched by a vector_store:
// in this process (the default) or in ChromaDB (providers/chroma_store.hpp).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "providers/catalog.hpp"
#include "providers/provider_config.hpp"
#include "providers/tool.hpp"

namespace eventide::providers {

/// FNV-1a 64 (hex) over the names and contents of every *.md file of `products_dir`, sorted
/// by name. Empty when the directory cannot be read.
std::string catalog_fingerprint(const std::string& products_dir);

/// Cosine similarity; 0 when the sizes differ or either vector is zero.
double cosine(const std::vector<float>& a, const std::vector<float>& b);

struct embedding_index_info {
  bool cache_hit = false;      // vectors came from the cache file
  std::size_t embedded = 0;    // chunks sent to the embedding service
  std::string cache_file;      // "" when no cache dir was given
  std::string provider, model; // the embedder used
  std::string vector_store;    // open_retriever: "embedded" | "chroma" ("" = BM25 alone)
  std::string store_error;     // open_retriever: why the store could not take the vectors yet
};

/// Stores the chunk vectors and gives the cosine similarity of a query vector to each chunk.
/// Thread-safe: the tool runners of a worker share one.
class vector_store {
 public:
  virtual ~vector_store() = default;
  /// "embedded" | "chroma": the vectorStore field of results, and in logs.
  virtual std::string name() const = 0;
  /// Takes the vector of every chunk of `catalog` (same order as catalog.chunks()) computed
  /// by `embedder` for the products/ with `fingerprint`. A failure says why the store cannot
  /// serve yet (e.g. Chroma is down); a store that can recover tries again in similarities().
  virtual outcome<void> load(const product_retriever& catalog,
                             const std::vector<std::vector<float>>& vectors,
                             const std::string& fingerprint, const llm_client& embedder) = 0;
  /// The cosine similarity of `query` to every loaded chunk, in load() order, or why not.
  virtual outcome<std::vector<double>> similarities(const std::vector<float>& query) = 0;
};

/// The default store: the vectors in memory, cosine computed over every chunk.
std::shared_ptr<vector_store> make_embedded_vector_store();

/// One vector per chunk (same order), from `<cache_dir>/embeddings-<hash>.json` when that file
/// matches the fingerprint, provider, model and chunk ids, else from `embedder` (and then
/// written there). Fails on the first embedding failure.
outcome<std::vector<std::vector<float>>> load_or_embed_chunks(
    const std::vector<chunk>& chunks, llm_client& embedder, const std::string& fingerprint,
    const std::string& cache_dir, embedding_index_info* info = nullptr);

/// Opens products/ for getProductInformation/ragGeneration. With an LLM in `embeddings` (the
/// first one whose chunk embeddings succeed) the retriever ranks hybrid with `bm25_weight`,
/// its vectors in `store` (null: make_embedded_vector_store()); otherwise, or when every
/// embedder fails, BM25 alone (the reason goes to `log`). A query whose embedding or vector
/// search fails at search time is ranked by BM25 alone, and the reason logged.
outcome<std::shared_ptr<product_retriever>> open_retriever(
    const std::string& products_dir, const llm_chain& embeddings, const std::string& cache_dir,
    double bm25_weight, std::function<void(const std::string&)> log = {},
    embedding_index_info* info = nullptr, std::shared_ptr<vector_store> store = nullptr);

/// getProductInformation over a shared retriever (BM25 or hybrid); result as
/// make_product_info_tool(products_dir), with "retrieval": "hybrid" and "vectorStore" (where
/// the vectors live) when hybrid; when a query could not be ranked hybrid, "retrieval": "bm25",
/// "vectorStore" and "retrievalFallback": why (e.g. "chroma unavailable: connect failed: ...").
std::unique_ptr<tool> make_product_info_tool(std::shared_ptr<const product_retriever> retriever);

} // namespace eventide::providers
