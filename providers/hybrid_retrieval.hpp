// Hybrid retrieval: BM25 mixed with embedding cosine similarity (see
// product_retriever::set_dense_scorer for the formula). Chunk embeddings are cached in a file
// keyed by a hash of products/ and the embedding provider/model, so they are recomputed only
// when the catalog or the model changes.
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
};

/// One vector per chunk (same order), from `<cache_dir>/embeddings-<hash>.json` when that file
/// matches the fingerprint, provider, model and chunk ids, else from `embedder` (and then
/// written there). Fails on the first embedding failure.
outcome<std::vector<std::vector<float>>> load_or_embed_chunks(
    const std::vector<chunk>& chunks, llm_client& embedder, const std::string& fingerprint,
    const std::string& cache_dir, embedding_index_info* info = nullptr);

/// Opens products/ for getProductInformation/ragGeneration. With an LLM in `embeddings` (the
/// first one whose chunk embeddings succeed) the retriever ranks hybrid with `bm25_weight`;
/// otherwise, or when every embedder fails, BM25 alone (the reason goes to `log`). A query
/// whose embedding fails at search time is ranked by BM25 alone.
outcome<std::shared_ptr<product_retriever>> open_retriever(
    const std::string& products_dir, const llm_chain& embeddings, const std::string& cache_dir,
    double bm25_weight, std::function<void(const std::string&)> log = {},
    embedding_index_info* info = nullptr);

/// getProductInformation over a shared retriever (BM25 or hybrid); result as
/// make_product_info_tool(products_dir), with "retrieval": "hybrid" when hybrid.
std::unique_ptr<tool> make_product_info_tool(std::shared_ptr<const product_retriever> retriever);

} // namespace eventide::providers
