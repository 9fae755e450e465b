// Hybrid retrieval (BM25 + embedding cosine) against a deterministic embedding server: the
// top-1 accuracy on the labelled questions for BM25 and hybrid, the embedding cache that is
// rebuilt only when products/ changes, and BM25 fallback when embeddings fail.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <unistd.h>

#include "core/json.hpp"
#include "core/retrieval.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/offline_tools.hpp"
#include "tests/tools/http_test_server.hpp"
#include "tests/tools/toy_embeddings.hpp"
#include "tests/providers/quality_figures.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;
using eventide::testing::recorded_request;
using eventide::testing::scripted_response;
namespace fs = std::filesystem;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";

// Ollama's /api/embeddings answered with the toy bag-of-words model (tests/tools/toy_embeddings.hpp).
void serve_embeddings(http_test_server& server) { eventide::testing::serve_toy_embeddings(server); }

std::shared_ptr<provider_runtime> runtime_for(const http_test_server& server) {
  provider_config c;
  c.embeddings_chain = {"ollama", "offline"};
  c.ollama_url = server.url();
  c.ollama_embedding_model = "toy-bow-512";
  c.retry.max_attempts = 1;
  return make_provider_runtime(c);
}

// A scratch directory removed at the end of the test.
struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name)
      : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("cosine similarity", "[provider][hybrid]") {
  CHECK(cosine({1, 0}, {1, 0}) == Approx(1.0));
  CHECK(cosine({1, 0}, {0, 2}) == Approx(0.0));
  CHECK(cosine({1, 1}, {-1, -1}) == Approx(-1.0));
  CHECK(cosine({1, 2}, {1, 2, 3}) == 0);
  CHECK(cosine({0, 0}, {1, 1}) == 0);
}

TEST_CASE("top-1 accuracy per split (tune, heldout): BM25 vs hybrid equal the reported figures", "[provider][hybrid][quality]") {
  http_test_server server;
  serve_embeddings(server);
  auto rt = runtime_for(server);
  embedding_index_info info;
  auto hybrid = open_retriever(products_dir, rt->embeddings(), "", 0.5, {}, &info);
  REQUIRE(hybrid.ok());
  REQUIRE((*hybrid)->hybrid());
  // Hybrid ranking embeds each query over HTTP: the tool may block; BM25 alone does not.
  CHECK(make_product_info_tool(*hybrid)->may_block());
  CHECK_FALSE(make_product_info_tool(products_dir)->may_block());
  CHECK(info.embedded == (*hybrid)->chunks().size());
  CHECK(info.cache_file.empty());
  auto bm25 = product_retriever::open(products_dir);
  REQUIRE(bm25.ok());

  std::ifstream in(EVENTIDE_FIXTURES "/retrieval_questions.json");
  std::stringstream text;
  text << in.rdbuf();
  auto questions = json::parse(text.str());
  REQUIRE(questions.ok());
  std::map<std::string, int> total, bm25_correct, hybrid_correct;
  for (const auto& q : questions->GetArray()) {
    std::string question = q["question"].GetString(), expected = q["product"].GetString();
    std::string split = q["split"].GetString();
    ++total[split];
    auto lexical = bm25->best_product(question);
    auto mixed = (*hybrid)->best_product(question);
    bm25_correct[split] += lexical && lexical->item->id == expected;
    hybrid_correct[split] += mixed && mixed->item->id == expected;
  }
  for (const char* split : {"tune", "heldout"})
    std::cout << "top-1 accuracy, " << split << " (" << total[split] << " questions): BM25 "
              << bm25_correct[split] << "/" << total[split]
              << ", hybrid (w=0.5, toy bag-of-words embeddings) " << hybrid_correct[split] << "/"
              << total[split] << "\n";
  // The reported figures (README summary table), exactly.
  CHECK(total["tune"] == quality::retrieval_tune_total);
  CHECK(total["heldout"] == quality::retrieval_heldout_total);
  CHECK(bm25_correct["tune"] == quality::bm25_tune_top1);
  CHECK(bm25_correct["heldout"] == quality::bm25_heldout_top1);
  CHECK(hybrid_correct["tune"] == quality::hybrid_tune_top1);
  CHECK(hybrid_correct["heldout"] == quality::hybrid_heldout_top1);
}

TEST_CASE("hybrid ranking mixes normalised BM25 and cosine as documented", "[provider][hybrid]") {
  auto opened = product_retriever::open(products_dir);
  REQUIRE(opened.ok());
  product_retriever r = std::move(opened.value());
  std::string query = "Aurora X1 battery";
  auto lexical = r.search(query, r.chunks().size());
  REQUIRE(lexical.size() > 2);
  double best = lexical.front().score;
  // Dense scores: 1 for the lexically third chunk, 0 elsewhere.
  std::string favoured = lexical[2].passage.id;
  r.set_dense_scorer([&](std::string_view, std::string&) {
    std::vector<double> s(r.chunks().size(), 0.0);
    for (std::size_t i = 0; i < s.size(); ++i)
      s[i] = r.chunks()[i].id == favoured ? 1.0 : -0.5; // negative cosine counts as 0
    return s;
  }, 0.5);
  auto mixed = r.search(query, 3);
  REQUIRE(mixed.size() == 3);
  CHECK(mixed[0].passage.id == favoured);
  CHECK(mixed[0].score == Approx(0.5 * lexical[2].score / best + 0.5));
  CHECK(mixed[1].passage.id == lexical[0].passage.id);
  CHECK(mixed[1].score == Approx(0.5));

  SECTION("no dense scores for a query: BM25 alone") {
    r.set_dense_scorer([](std::string_view, std::string& why) {
      why = "scorer down";
      return std::vector<double>();
    }, 0.5);
    auto fallback = r.search(query, 3);
    REQUIRE(fallback.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(fallback[i].passage.id == lexical[i].passage.id);
      CHECK(fallback[i].score == lexical[i].score);
    }
  }
}

TEST_CASE("chunk embeddings are cached and rebuilt only when products/ changes", "[provider][hybrid]") {
  http_test_server server;
  serve_embeddings(server);
  auto rt = runtime_for(server);
  temp_dir products("eventide-products"), cache("eventide-embeddings");
  for (const auto& entry : fs::directory_iterator(products_dir))
    fs::copy_file(entry.path(), products.path / entry.path().filename());

  embedding_index_info first, second, third;
  auto a = open_retriever(products.path.string(), rt->embeddings(), cache.path.string(), 0.5, {}, &first);
  REQUIRE(a.ok());
  std::size_t chunks = (*a)->chunks().size();
  CHECK_FALSE(first.cache_hit);
  CHECK(first.embedded == chunks);
  CHECK(first.provider == "ollama");
  CHECK(first.model == "toy-bow-512");
  CHECK(fs::exists(first.cache_file));
  CHECK(server.request_count("/api/embeddings") == chunks);

  auto b = open_retriever(products.path.string(), rt->embeddings(), cache.path.string(), 0.5, {}, &second);
  REQUIRE(b.ok());
  CHECK(second.cache_hit);
  CHECK(second.embedded == 0);
  CHECK(second.cache_file == first.cache_file);
  CHECK(server.request_count("/api/embeddings") == chunks);
  auto from_cache = (*b)->search("Aurora X1 battery", 3);
  auto fresh = (*a)->search("Aurora X1 battery", 3);
  REQUIRE(from_cache.size() == fresh.size());
  for (std::size_t i = 0; i < fresh.size(); ++i)
    CHECK(from_cache[i].passage.id == fresh[i].passage.id);

  {
    std::ofstream append(products.path / "aurora-x1.md", std::ios::app);
    append << "\n## Accessories\nA sleeve in recycled felt is sold separately.\n";
  }
  auto c = open_retriever(products.path.string(), rt->embeddings(), cache.path.string(), 0.5, {}, &third);
  REQUIRE(c.ok());
  CHECK_FALSE(third.cache_hit);
  CHECK(third.embedded == (*c)->chunks().size());
  CHECK(third.cache_file != first.cache_file);
  CHECK(catalog_fingerprint(products.path.string()) != catalog_fingerprint(products_dir));
}

TEST_CASE("embedding failures fall back to BM25", "[provider][hybrid]") {
  http_test_server server;
  auto rt = runtime_for(server);
  auto bm25 = product_retriever::open(products_dir);
  REQUIRE(bm25.ok());

  SECTION("embedder down while indexing: plain BM25, reason logged") {
    server.set_default("/api/embeddings", {503, "", {}, 0});
    std::vector<std::string> log;
    auto r = open_retriever(products_dir, rt->embeddings(), "", 0.5, [&](const std::string& l) { log.push_back(l); });
    REQUIRE(r.ok());
    CHECK_FALSE((*r)->hybrid());
    REQUIRE(log.size() == 1);
    CHECK(log[0].rfind("hybrid retrieval: ollama (llama3.1:8b) unavailable, trying the next: embedding chunk aurora-x1#0: ", 0) == 0);
  }
  SECTION("query embedding fails at search time: that query is ranked by BM25") {
    serve_embeddings(server);
    auto r = open_retriever(products_dir, rt->embeddings(), "", 0.5);
    REQUIRE(r.ok());
    REQUIRE((*r)->hybrid());
    server.set_default("/api/embeddings", {500, "", {}, 0});
    auto got = (*r)->search("Nimbus Pro warranty", 3);
    auto want = bm25->search("Nimbus Pro warranty", 3);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].passage.id == want[i].passage.id);
      CHECK(got[i].score == want[i].score);
    }
  }
  SECTION("an offline embeddings chain sends nothing") {
    auto r = open_retriever(products_dir, rt->chain({"offline"}), "", 0.5);
    REQUIRE(r.ok());
    CHECK_FALSE((*r)->hybrid());
    CHECK(server.requests().empty());
  }
}

TEST_CASE("getProductInformation over a hybrid retriever says so", "[provider][hybrid]") {
  http_test_server server;
  serve_embeddings(server);
  auto rt = runtime_for(server);
  auto r = open_retriever(products_dir, rt->embeddings(), "", 0.5);
  REQUIRE(r.ok());
  auto tool = make_product_info_tool(std::shared_ptr<const product_retriever>(*r));
  std::size_t indexed = server.request_count("/api/embeddings");
  auto out = tool->invoke(R"({"query":"Aurora X1 price","topK":2})");
  REQUIRE(out.ok);
  CHECK(server.request_count("/api/embeddings") == indexed + 1); // one query embedding per call
  auto d = json::parse(out.result_json);
  REQUIRE(d.ok());
  CHECK(json::get_string(*d, "name") == std::string("Aurora X1"));
  CHECK(json::get_string(*d, "retrieval") == std::string("hybrid"));
  CHECK(json::get_string(*d, "vectorStore") == std::string("embedded"));
  CHECK_FALSE(d->HasMember("retrievalFallback"));
  CHECK((*d)["chunks"].Size() == 2);

  SECTION("a query whose embedding fails says it was ranked by BM25, and why") {
    server.set_default("/api/embeddings", {500, "model exploded", {}, 0});
    std::size_t before = server.request_count("/api/embeddings");
    auto failed = tool->invoke(R"({"query":"Nimbus Pro warranty","topK":2})");
    REQUIRE(failed.ok);
    // The failure is remembered for the second ranking of the same call: one request, not two.
    CHECK(server.request_count("/api/embeddings") == before + 1);
    auto f = json::parse(failed.result_json);
    REQUIRE(f.ok());
    CHECK(json::get_string(*f, "name") == std::string("Nimbus Pro"));
    CHECK(json::get_string(*f, "retrieval") == std::string("bm25"));
    CHECK(json::get_string(*f, "vectorStore") == std::string("embedded"));
    auto why = json::get_string(*f, "retrievalFallback");
    REQUIRE(why);
    CHECK(why->rfind("query embedding failed: ollama (toy-bow-512): ", 0) == 0);
    CHECK(why->find("HTTP 500") != std::string::npos);
  }
}
