#include "providers/hybrid_retrieval.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

#include "core/json.hpp"

namespace eventide::providers {

namespace fs = std::filesystem;

namespace {

void fnv1a(uint64_t& h, const std::string& data) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
}

std::string hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

bool read_text(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::stringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return true;
}

// Vectors from a cache file, when it was written for exactly these chunks and this model.
bool read_cache(const fs::path& file, const std::vector<chunk>& chunks, const std::string& fingerprint,
                const llm_client& embedder, std::vector<std::vector<float>>& out) {
  std::string text;
  if (!read_text(file, text))
    return false;
  auto doc = json::parse(text);
  if (!doc || !doc->IsObject() || json::get_string(*doc, "fingerprint") != fingerprint
      || json::get_string(*doc, "provider") != embedder.name()
      || json::get_string(*doc, "model") != embedder.embedding_model())
    return false;
  const json::value* items = json::find_path(*doc, "chunks");
  if (!items || !items->IsArray() || items->Size() != chunks.size())
    return false;
  std::vector<std::vector<float>> vectors;
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const auto& item = (*items)[i];
    const json::value* v = item.IsObject() ? json::find_path(item, "vector") : nullptr;
    if (json::get_string(item, "id") != chunks[i].id || !v || !v->IsArray() || v->Empty())
      return false;
    std::vector<float> vec;
    for (const auto& x : v->GetArray()) {
      if (!x.IsNumber())
        return false;
      vec.push_back(static_cast<float>(x.GetDouble()));
    }
    vectors.push_back(std::move(vec));
  }
  out = std::move(vectors);
  return true;
}

// Written to a temporary file and renamed, so a crash never leaves a half-written cache.
void write_cache(const fs::path& file, const std::vector<chunk>& chunks,
                 const std::vector<std::vector<float>>& vectors, const std::string& fingerprint,
                 const llm_client& embedder) {
  json::document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("provider", json::str(embedder.name(), a), a);
  doc.AddMember("model", json::str(embedder.embedding_model(), a), a);
  doc.AddMember("fingerprint", json::str(fingerprint, a), a);
  json::value items(rapidjson::kArrayType);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    json::value item(rapidjson::kObjectType);
    item.AddMember("id", json::str(chunks[i].id, a), a);
    json::value vec(rapidjson::kArrayType);
    for (float x : vectors[i])
      vec.PushBack(static_cast<double>(x), a);
    item.AddMember("vector", vec, a);
    items.PushBack(item, a);
  }
  doc.AddMember("chunks", items, a);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << json::dump(doc);
    if (!out)
      return; // a cache that cannot be written only costs a rebuild next time
  }
  fs::rename(tmp, file, ec);
}

} // namespace

std::string catalog_fingerprint(const std::string& products_dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(products_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".md")
      files.push_back(it->path());
  if (ec || files.empty())
    return {};
  std::sort(files.begin(), files.end());
  uint64_t h = 14695981039346656037ULL;
  for (const auto& f : files) {
    std::string text;
    if (!read_text(f, text))
      return {};
    fnv1a(h, f.filename().string() + "\n" + std::to_string(text.size()) + "\n");
    fnv1a(h, text);
  }
  return hex(h);
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty())
    return 0;
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0)
    return 0;
  return dot / std::sqrt(na * nb);
}

outcome<std::vector<std::vector<float>>> load_or_embed_chunks(
    const std::vector<chunk>& chunks, llm_client& embedder, const std::string& fingerprint,
    const std::string& cache_dir, embedding_index_info* info) {
  embedding_index_info local;
  embedding_index_info& meta = info ? *info : local;
  meta = {};
  meta.provider = embedder.name();
  meta.model = embedder.embedding_model();
  fs::path file;
  if (!cache_dir.empty()) {
    uint64_t h = 14695981039346656037ULL;
    fnv1a(h, fingerprint + "\n" + embedder.name() + "\n" + embedder.embedding_model());
    file = fs::path(cache_dir) / ("embeddings-" + hex(h) + ".json");
    meta.cache_file = file.string();
    std::vector<std::vector<float>> cached;
    if (!fingerprint.empty() && read_cache(file, chunks, fingerprint, embedder, cached)) {
      meta.cache_hit = true;
      return cached;
    }
  }
  std::vector<std::vector<float>> vectors;
  for (const auto& c : chunks) {
    auto v = embedder.embed(c.text);
    if (!v)
      return fail("embedding chunk " + c.id + ": " + v.error());
    if (!vectors.empty() && v->size() != vectors.front().size())
      return fail("embedding chunk " + c.id + ": " + std::to_string(v->size())
                  + " dimensions, earlier chunks had " + std::to_string(vectors.front().size()));
    vectors.push_back(std::move(v.value()));
    ++meta.embedded;
  }
  if (!file.empty() && !fingerprint.empty())
    write_cache(file, chunks, vectors, fingerprint, embedder);
  return vectors;
}

namespace {

class embedded_vector_store final : public vector_store {
 public:
  std::string name() const override { return "embedded"; }

  outcome<void> load(const product_retriever&, const std::vector<std::vector<float>>& vectors,
                     const std::string&, const llm_client&) override {
    std::lock_guard<std::mutex> lock(mu_);
    vectors_ = vectors;
    return {};
  }

  outcome<std::vector<double>> similarities(const std::vector<float>& query) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<double> scores;
    scores.reserve(vectors_.size());
    for (const auto& v : vectors_)
      scores.push_back(cosine(query, v));
    return scores;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<float>> vectors_;
};

} // namespace

std::shared_ptr<vector_store> make_embedded_vector_store() {
  return std::make_shared<embedded_vector_store>();
}

outcome<std::shared_ptr<product_retriever>> open_retriever(
    const std::string& products_dir, const llm_chain& embeddings, const std::string& cache_dir,
    double bm25_weight, std::function<void(const std::string&)> log, embedding_index_info* info,
    std::shared_ptr<vector_store> store) {
  auto opened = product_retriever::open(products_dir);
  if (!opened)
    return std::move(opened).take_failure();
  auto retriever = std::make_shared<product_retriever>(std::move(opened.value()));
  std::string fingerprint = catalog_fingerprint(products_dir);
  if (!store)
    store = make_embedded_vector_store();
  for (const auto& link : embeddings) {
    if (!link.client)
      break; // "offline": BM25 alone
    auto vectors = load_or_embed_chunks(retriever->chunks(), *link.client, fingerprint, cache_dir, info);
    if (!vectors) {
      if (log)
        log("hybrid retrieval: " + describe(*link.client) + " unavailable, trying the next: "
            + vectors.error());
      continue;
    }
    std::size_t count = vectors->size();
    // The store not taking the vectors now (Chroma down) is no reason to give up the embedder:
    // the store retries on the queries, which are ranked by BM25 until it serves.
    auto loaded = store->load(*retriever, *vectors, fingerprint, *link.client);
    if (info) {
      info->vector_store = store->name();
      info->store_error = loaded ? "" : loaded.error();
    }
    if (!loaded && log)
      log("hybrid retrieval: " + store->name() + " unavailable, queries are ranked by BM25 until "
          "it answers: " + loaded.error());
    // getProductInformation ranks the same query twice (best product, then chunks): the last
    // query's scores are kept so that costs one embedding call, not two. A failure is kept for
    // a second, so the second ranking of a tool call does not wait for a dead service again.
    struct scorer_state {
      std::shared_ptr<llm_client> embedder;
      std::shared_ptr<vector_store> store;
      std::mutex mu;
      std::string last_query;
      std::vector<double> last_scores;
      std::string last_failure;
      std::chrono::steady_clock::time_point failed_at;
    };
    auto state = std::make_shared<scorer_state>();
    state->embedder = link.client;
    state->store = store;
    retriever->set_dense_scorer(
        [state, log](std::string_view query, std::string& unavailable) {
          auto remember_failure = [&](std::string why) {
            if (log)
              log("hybrid retrieval: " + why + "; using BM25 alone for '" + std::string(query)
                  + "'");
            std::lock_guard<std::mutex> lock(state->mu);
            state->last_query = std::string(query);
            state->last_scores.clear();
            state->last_failure = why;
            state->failed_at = std::chrono::steady_clock::now();
            unavailable = std::move(why);
            return std::vector<double>();
          };
          {
            std::lock_guard<std::mutex> lock(state->mu);
            if (state->last_query == query) {
              if (!state->last_scores.empty())
                return state->last_scores;
              if (!state->last_failure.empty()
                  && std::chrono::steady_clock::now() - state->failed_at < std::chrono::seconds(1)) {
                unavailable = state->last_failure;
                return std::vector<double>();
              }
            }
          }
          auto q = state->embedder->embed(std::string(query));
          if (!q)
            return remember_failure("query embedding failed: " + q.error());
          auto scores = state->store->similarities(*q);
          if (!scores)
            return remember_failure(state->store->name() + " unavailable: " + scores.error());
          std::lock_guard<std::mutex> lock(state->mu);
          state->last_query = std::string(query);
          state->last_scores = *scores;
          state->last_failure.clear();
          return std::move(scores.value());
        },
        bm25_weight, store->name());
    if (log)
      log("hybrid retrieval: " + std::to_string(count) + " chunk vectors from "
          + link.client->name() + " (" + link.client->embedding_model() + ") in the "
          + store->name() + " vector store");
    return retriever;
  }
  return retriever;
}

} // namespace eventide::providers
