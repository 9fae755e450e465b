// ChromaDB as the vector store of hybrid retrieval (`vector-store = chroma`): a client for
// Chroma's REST API v2 (chromadb 1.x: /api/v2/tenants/{tenant}/databases/{database}/...) over
// resilient_http, and the vector_store that keeps one collection per catalog and embedder.
//
// Chroma only stores and searches: the vectors are the ones Eventide computes (and caches) with
// its embeddings chain, written with their ids, documents and metadata; a query sends the query
// embedding and reads back the cosine distance of every chunk. The collection's name carries
// the catalog fingerprint and a hash of the embedder, so a changed products/ or model builds a
// new collection and the stale ones (same prefix, made by Eventide) are deleted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/resilience.hpp"

namespace eventide::providers {

struct chroma_settings {
  std::string url = "http://127.0.0.1:8000"; // base URL of the server
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  std::string collection_prefix = "eventide-products";
  long connect_timeout_ms = 2000;
  long timeout_ms = 10000;
};

/// The longest collection prefix: the name must stay within 63 characters, the limit of the
/// older Chroma servers too.
constexpr std::size_t chroma_prefix_max = 37;

/// A prefix is 1 to 37 characters of [A-Za-z0-9._-], starting with a letter or digit, without
/// "..". Fails saying which rule it breaks.
outcome<void> check_chroma_collection_prefix(std::string_view prefix);

/// "<prefix>-<fingerprint>-<h>": `fingerprint` is catalog_fingerprint() (16 hex digits) and
/// h the first 8 hex digits of FNV-1a 64 over "<provider>\n<model>", so the name changes when
/// products/ or the embedder does.
std::string chroma_collection_name(const std::string& prefix, const std::string& fingerprint,
                                   const std::string& provider, const std::string& model);

/// True when `name` is shaped like chroma_collection_name(prefix, ...): the prefix, then
/// "-<16 hex>-<8 hex>" and nothing else (so prefix "shop" never claims "shop-v2-...").
bool chroma_name_has_prefix(std::string_view name, std::string_view prefix);

struct chroma_collection {
  std::string id;   // UUID
  std::string name;
  std::map<std::string, std::string> metadata; // numbers and booleans as text
  std::string space; // configuration_json.hnsw.space ("cosine", "l2", "ip"; "" if absent)
};

struct chroma_record {
  std::string id;
  std::vector<float> embedding;
  std::string document;
  std::map<std::string, std::string> metadata;
};

struct chroma_hit {
  std::string id;
  double distance = 0;
};

/// A Collection object (POST/GET .../collections[/{name}]).
outcome<chroma_collection> parse_chroma_collection(std::string_view body);
/// The array of GET .../collections.
outcome<std::vector<chroma_collection>> parse_chroma_collections(std::string_view body);
/// The first query's ids and distances of a QueryResponse (include ["distances"]).
outcome<std::vector<chroma_hit>> parse_chroma_query(std::string_view body);
/// The records of a GetResponse (include ["embeddings", "documents", "metadatas"]).
outcome<std::vector<chroma_record>> parse_chroma_records(std::string_view body);

/// Cosine similarity per chunk (chunk_ids order) from the hits of a cosine-space query:
/// 1 - distance. A chunk the search did not return scores 0 (HNSW is approximate; every chunk
/// is asked for). Fails on an id that is not a chunk or comes twice.
outcome<std::vector<double>> similarities_from_hits(const std::vector<chroma_hit>& hits,
                                                    const std::vector<std::string>& chunk_ids);

/// Chroma's REST API v2. Every call goes through resilient_http under the circuit key
/// "chroma" (retries, breaker); failures are resilient_http's, which name the request's URL, or
/// "bad reply from <url>: ..." for a reply that is not what the API promises. Thread-safe.
class chroma_client {
 public:
  chroma_client(chroma_settings settings, std::shared_ptr<resilient_http> http);

  const chroma_settings& settings() const { return settings_; }

  /// GET /api/v2/version: the server's API version ("1.0.0" for chromadb 1.5.x).
  outcome<std::string> version();
  /// POST .../collections {"name","get_or_create":true,"metadata","configuration":{"hnsw":
  /// {"space":"cosine","ef_search"}}}: the collection, created when missing.
  outcome<chroma_collection> get_or_create(const std::string& name,
                                           const std::map<std::string, std::string>& metadata,
                                           int ef_search);
  /// GET .../collections/{name}; nullopt when there is none (HTTP 404).
  outcome<std::optional<chroma_collection>> find(const std::string& name);
  /// GET .../collections, every page.
  outcome<std::vector<chroma_collection>> list();
  /// DELETE .../collections/{name}; false when there was none.
  outcome<bool> remove(const std::string& name);
  /// POST .../collections/{id}/upsert {"ids","embeddings","documents","metadatas"}.
  outcome<void> upsert(const std::string& collection_id, const std::vector<chroma_record>& records);
  /// GET .../collections/{id}/count.
  outcome<std::size_t> count(const std::string& collection_id);
  /// POST .../collections/{id}/query {"query_embeddings":[embedding],"n_results",
  /// "include":["distances"]}: the nearest records, nearest first.
  outcome<std::vector<chroma_hit>> query(const std::string& collection_id,
                                         const std::vector<float>& embedding, std::size_t n_results);
  /// POST .../collections/{id}/get {"include":["embeddings","documents","metadatas"]}: every
  /// record (for checks and tests).
  outcome<std::vector<chroma_record>> get_all(const std::string& collection_id);

  /// True for a failure of this client that is Chroma answering 404 (no such collection).
  static bool is_not_found(std::string_view failure);

 private:
  std::string collections_url() const;
  outcome<http_response> send(const std::string& method, const std::string& url,
                              const std::string& body = "");

  chroma_settings settings_;
  std::shared_ptr<resilient_http> http_;
};

/// What the Chroma store did, for logs, tests and measurements.
struct chroma_store_status {
  std::string collection;    // the current collection's name ("" before load)
  std::string collection_id; // "" until it was built
  bool ready = false;        // built and holding one record per chunk
  bool reused = false;       // the last build found the collection complete
  std::size_t upserted = 0;  // records written by the last build
  std::vector<std::string> deleted; // stale collections deleted by load()
  int64_t build_ms = 0;      // wall time of the last build
  int builds = 0;            // completed builds: load() and rebuilds at query time
};

/// The vector store backed by one Chroma collection. load() builds it (get or create, upsert
/// when it does not hold exactly the chunks, delete the stale collections of the prefix); when
/// Chroma is down then, or the collection disappears later (404: a server restarted without its
/// data), the next query builds it again from the vectors kept in memory. A query that fails
/// fails only that query (the retriever then ranks it by BM25 and says why).
class chroma_vector_store final : public vector_store {
 public:
  chroma_vector_store(chroma_settings settings, std::shared_ptr<resilient_http> http,
                      std::function<void(const std::string&)> log = {});

  std::string name() const override { return "chroma"; }
  outcome<void> load(const product_retriever& catalog,
                     const std::vector<std::vector<float>>& vectors,
                     const std::string& fingerprint, const llm_client& embedder) override;
  outcome<std::vector<double>> similarities(const std::vector<float>& query) override;

  chroma_store_status status() const;
  chroma_client& client() { return client_; }

 private:
  // Gets or creates the collection and fills it; with delete_stale, also deletes the other
  // collections of the prefix. Requires build_mu_.
  outcome<void> build(bool delete_stale);
  void note(const std::string& line) const;

  chroma_client client_;
  std::function<void(const std::string&)> log_;
  std::mutex build_mu_; // one build at a time
  mutable std::mutex mu_;
  // Set by load(), read by builds and queries.
  std::vector<chroma_record> records_;
  std::vector<std::string> chunk_ids_;
  std::map<std::string, std::string> metadata_;
  chroma_store_status status_;
  std::atomic<bool> ready_{false};
};

} // namespace eventide::providers
