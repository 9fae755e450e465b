// The ChromaDB vector store against a real Chroma server (chromadb 1.5.9, `chroma run`), the
// one scripts/test.sh starts with scripts/chroma-test-env.sh (CHROMA_URL). Without one every
// case reports skipped (exit 77), and fails instead when EVENTIDE_REQUIRE_CHROMA=1. The
// embeddings come from the toy hashed bag-of-words model served over Ollama's API on loopback
// (tests/tools/toy_embeddings.hpp): Chroma only stores and searches them.
//
// Each case works under its own collection prefix and deletes its collections at the end; the
// case that stops Chroma starts a private server of its own.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "providers/catalog.hpp"
#include "providers/chroma_store.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/offline_tools.hpp"
#include "providers/provider_config.hpp"
#include "tests/temp_dir.hpp"
#include "tests/tools/http_test_server.hpp"
#include "tests/tools/toy_embeddings.hpp"
#include "tests/providers/quality_figures.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;
namespace fs = std::filesystem;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";
const std::string env_script = EVENTIDE_SOURCE_DIR "/scripts/chroma-test-env.sh";

[[noreturn]] void skip(const std::string& reason) {
  // Catch2 2.x has no "skipped": the code ctest reports as skipped (SKIP_RETURN_CODE 77).
  std::cout << "SKIP: " << reason << std::endl;
  std::_Exit(77);
}

bool required() {
  const char* r = std::getenv("EVENTIDE_REQUIRE_CHROMA");
  return r && std::string(r) == "1";
}

// The shared test server, or skip (fail under EVENTIDE_REQUIRE_CHROMA=1).
std::string chroma_url() {
  const char* url = std::getenv("CHROMA_URL");
  if (!url || !*url) {
    if (required())
      FAIL("EVENTIDE_REQUIRE_CHROMA=1 but CHROMA_URL is not set: start a server "
           "(eval \"$(bash scripts/chroma-test-env.sh start)\") and export CHROMA_URL");
    skip("CHROMA_URL is not set (no Chroma server to test against)");
  }
  auto http = std::make_shared<resilient_http>();
  chroma_settings s;
  s.url = url;
  auto version = chroma_client(s, http).version();
  if (!version) {
    if (required())
      FAIL("EVENTIDE_REQUIRE_CHROMA=1 but Chroma at " << url << " does not answer: " << version.error());
    skip(std::string("Chroma at ") + url + " does not answer: " + version.error());
  }
  return url;
}

// A collection prefix of this process and case, so runs never touch each other's collections.
std::string unique_prefix(const std::string& tag) {
  return "t" + std::to_string(::getpid()) + "-" + tag;
}

std::shared_ptr<provider_runtime> toy_runtime(const http_test_server& embedder,
                                              const std::string& model = "toy-bow-512") {
  provider_config c;
  c.embeddings_chain = {"ollama", "offline"};
  c.ollama_url = embedder.url();
  c.ollama_embedding_model = model;
  c.retry.max_attempts = 2;
  c.retry.backoff.base_ms = 20;
  c.retry.backoff.max_ms = 50;
  c.breaker.open_ms = 200; // a restarted Chroma is tried again soon
  return make_provider_runtime(c);
}

chroma_settings settings_for(const std::string& url, const std::string& prefix) {
  chroma_settings s;
  s.url = url;
  s.collection_prefix = prefix;
  s.connect_timeout_ms = 1000;
  s.timeout_ms = 10000;
  return s;
}

// Deletes every collection of `prefix` when the case ends, however it ends.
struct collections_cleanup {
  std::string url, prefix;
  ~collections_cleanup() {
    chroma_client client(settings_for(url, prefix), std::make_shared<resilient_http>());
    auto all = client.list();
    if (!all)
      return;
    for (const auto& c : all.value())
      if (c.name.rfind(prefix + "-", 0) == 0)
        (void)client.remove(c.name);
  }
};

struct logged {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& l) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(l);
    };
  }
  bool has(const std::string& start) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& l : lines)
      if (l.rfind(start, 0) == 0)
        return true;
    return false;
  }
};

json::document tool_result(tool& t, const std::string& query, int top_k = 5) {
  auto out = t.invoke(R"({"query":)" + json::quote(query) + R"(,"topK":)" + std::to_string(top_k) + "}");
  INFO(query << ": " << out.error);
  REQUIRE(out.ok);
  auto doc = json::parse(out.result_json);
  REQUIRE(doc.ok());
  return std::move(doc.value());
}

std::string text(const json::value& v, const char* member) {
  auto s = json::get_string(v, member);
  return s ? *s : "<absent>";
}

// The two results rank the same chunks with the same scores, up to float noise: Chroma computes
// cosine distances in float32, the embedded store in double. Chunks whose scores differ by less
// than 1e-4 may trade places (none did when this was written).
void check_same_ranking(const json::value& got, const json::value& want, const std::string& query) {
  INFO("query: " << query << "\n  chroma:   " << json::dump(got) << "\n  embedded: " << json::dump(want));
  CHECK(text(got, "name") == text(want, "name"));
  CHECK(text(got, "source") == text(want, "source"));
  const auto& a = got["chunks"];
  const auto& b = want["chunks"];
  REQUIRE(a.Size() == b.Size());
  for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
    CHECK(a[i]["score"].GetDouble() == Approx(b[i]["score"].GetDouble()).margin(1e-4));
    if (text(a[i], "id") != text(b[i], "id")) {
      // Allowed only for a near tie with a neighbour.
      bool near_tie = (i > 0 && std::abs(b[i]["score"].GetDouble() - b[i - 1]["score"].GetDouble()) < 1e-4)
                      || (i + 1 < b.Size()
                          && std::abs(b[i]["score"].GetDouble() - b[i + 1]["score"].GetDouble()) < 1e-4);
      CHECK(near_tie);
    }
  }
}

std::vector<std::pair<std::string, std::string>> labelled_questions() { // (question, split)
  std::ifstream in(EVENTIDE_FIXTURES "/retrieval_questions.json");
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = json::parse(buf.str());
  REQUIRE(doc.ok());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& q : doc->GetArray())
    out.emplace_back(q["question"].GetString(), q["split"].GetString());
  return out;
}

void copy_catalog(const std::string& to) {
  for (const auto& entry : fs::directory_iterator(products_dir))
    fs::copy_file(entry.path(), fs::path(to) / entry.path().filename());
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// A private Chroma server (scripts/chroma-test-env.sh start), stopped and deleted at the end.
struct private_server {
  std::string url, dir;
  private_server() {
    FILE* p = ::popen(("bash " + env_script + " start").c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p))
      out += buf;
    int rc = ::pclose(p);
    INFO("chroma-test-env.sh start printed: " << out);
    REQUIRE(rc == 0);
    auto field = [&](const std::string& key) {
      auto at = out.find(key + "=");
      REQUIRE(at != std::string::npos);
      auto end = out.find_first_of(" \n", at);
      return out.substr(at + key.size() + 1, end - at - key.size() - 1);
    };
    url = field("CHROMA_URL");
    dir = field("CHROMA_ENV_DIR");
  }
  ~private_server() {
    if (!dir.empty())
      (void)std::system(("bash " + env_script + " stop " + dir + " >/dev/null 2>&1").c_str());
  }
  void stop_server() { REQUIRE(std::system(("bash " + env_script + " stop-server " + dir).c_str()) == 0); }
  void start_server() { REQUIRE(std::system(("bash " + env_script + " start-server " + dir).c_str()) == 0); }
};

} // namespace

TEST_CASE("the bundled catalog in Chroma: one record per chunk, rankings equal the embedded index", "[chroma][live]") {
  std::string url = chroma_url();
  std::string prefix = unique_prefix("same");
  collections_cleanup cleanup{url, prefix};
  http_test_server embedder;
  testing::serve_toy_embeddings(embedder);
  auto rt = toy_runtime(embedder);

  logged log;
  embedding_index_info embedded_info, chroma_info;
  auto embedded = open_retriever(products_dir, rt->embeddings(), "", 0.5, {}, &embedded_info);
  REQUIRE(embedded.ok());
  auto store = std::make_shared<chroma_vector_store>(settings_for(url, prefix), rt->http, log.sink());
  auto started = std::chrono::steady_clock::now();
  auto chroma = open_retriever(products_dir, rt->embeddings(), "", 0.5, log.sink(), &chroma_info, store);
  double open_ms = ms_since(started);
  REQUIRE(chroma.ok());
  INFO("log: " << json::quote(log.lines.empty() ? "" : log.lines.back()));
  REQUIRE((*chroma)->hybrid());
  CHECK((*chroma)->vector_store() == "chroma");
  CHECK(chroma_info.vector_store == "chroma");
  CHECK(chroma_info.store_error.empty());
  const auto& chunks = (*chroma)->chunks();
  const std::size_t n = chunks.size();

  // The collection: its name carries the fingerprint and the embedder; it holds exactly the
  // chunks, with Eventide's own vectors, texts and products.
  auto st = store->status();
  std::string fingerprint = catalog_fingerprint(products_dir);
  CHECK(st.collection == chroma_collection_name(prefix, fingerprint, "ollama", "toy-bow-512"));
  CHECK(st.ready);
  CHECK_FALSE(st.reused);
  CHECK(st.upserted == n);
  CHECK(st.builds == 1);
  auto& client = store->client();
  auto found = client.find(st.collection);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->id == st.collection_id);
  CHECK((*found)->space == "cosine");
  CHECK((*found)->metadata.at("eventide:fingerprint") == fingerprint);
  CHECK((*found)->metadata.at("eventide:provider") == "ollama");
  CHECK((*found)->metadata.at("eventide:model") == "toy-bow-512");
  CHECK((*found)->metadata.at("eventide:chunks") == std::to_string(n));
  auto count = client.count(st.collection_id);
  REQUIRE(count.ok());
  CHECK(*count == n);
  auto records = client.get_all(st.collection_id);
  REQUIRE(records.ok());
  REQUIRE(records->size() == n);
  std::map<std::string, const chroma_record*> by_id;
  for (const auto& r : records.value())
    by_id[r.id] = &r;
  std::size_t same_vectors = 0;
  for (const auto& c : chunks) {
    INFO(c.id);
    REQUIRE(by_id.count(c.id) == 1);
    const chroma_record& r = *by_id[c.id];
    CHECK(r.document == c.text);
    CHECK(r.metadata.at("product_id") == c.product_id);
    CHECK(r.metadata.at("source") == c.source);
    CHECK(r.metadata.at("product_name") == (*chroma)->find(c.product_id)->name);
    // Chroma holds the vector Eventide computed for this chunk. In a cosine space it stores it
    // normalised in float32, which moves some components of an already unit vector by an ulp
    // (measured: at most 4e-8), so compare within 1e-6.
    auto want = testing::toy_embedding(c.text);
    std::vector<float> want_f(want.begin(), want.end());
    bool same = r.embedding.size() == want.size() && cosine(r.embedding, want_f) > 1 - 1e-6;
    for (std::size_t d = 0; same && d < want.size(); ++d)
      same = std::abs(r.embedding[d] - want[d]) <= 1e-6;
    same_vectors += same;
  }
  CHECK(same_vectors == n);

  // getProductInformation through Chroma answers as through the embedded index.
  auto via_chroma = make_product_info_tool(std::shared_ptr<const product_retriever>(*chroma));
  auto via_embedded = make_product_info_tool(std::shared_ptr<const product_retriever>(*embedded));
  auto questions = labelled_questions();
  for (const char* extra : {"Aurora X1 price", "waterproof earphones", "How heavy is the Nimbus Pro?",
                            "long battery life display", "warranty"})
    questions.emplace_back(extra, "extra");
  std::size_t compared = 0;
  for (const auto& [q, split] : questions) {
    auto got = tool_result(*via_chroma, q);
    auto want = tool_result(*via_embedded, q);
    CHECK(text(got, "retrieval") == "hybrid");
    CHECK(text(got, "vectorStore") == "chroma");
    CHECK(text(want, "vectorStore") == "embedded");
    CHECK_FALSE(got.HasMember("retrievalFallback"));
    check_same_ranking(got, want, q);
    ++compared;
  }
  CHECK(compared == 91);

  // The top-1 accuracy figures of the embedded hybrid index, exactly.
  std::map<std::string, int> correct;
  std::ifstream in(EVENTIDE_FIXTURES "/retrieval_questions.json");
  std::stringstream buf;
  buf << in.rdbuf();
  auto labelled = json::parse(buf.str());
  REQUIRE(labelled.ok());
  for (const auto& item : labelled->GetArray()) {
    auto best = (*chroma)->best_product(item["question"].GetString());
    correct[item["split"].GetString()] += best && best->item->id == item["product"].GetString();
  }
  CHECK(correct["tune"] == quality::hybrid_tune_top1);
  CHECK(correct["heldout"] == quality::hybrid_heldout_top1);

  // Measurements (printed; ctest --output-on-failure or -V shows them).
  auto query_vector = [&](const std::string& q) {
    auto v = testing::toy_embedding(q);
    return std::vector<float>(v.begin(), v.end());
  };
  auto embedded_store = make_embedded_vector_store();
  std::vector<std::vector<float>> vectors;
  for (const auto& c : chunks)
    vectors.push_back(query_vector(c.text));
  REQUIRE(embedded_store->load(**chroma, vectors, fingerprint, *rt->ollama).ok());
  constexpr int rounds = 3;
  double chroma_ms = 0, embedded_ms = 0, tool_chroma_ms = 0, tool_embedded_ms = 0;
  for (int round = 0; round < rounds; ++round)
    for (const auto& item : questions) {
      auto qv = query_vector(item.first);
      auto t0 = std::chrono::steady_clock::now();
      REQUIRE(store->similarities(qv).ok());
      chroma_ms += ms_since(t0);
      t0 = std::chrono::steady_clock::now();
      REQUIRE(embedded_store->similarities(qv).ok());
      embedded_ms += ms_since(t0);
      std::string q = item.first + " #" + std::to_string(round); // no score cache hit
      t0 = std::chrono::steady_clock::now();
      (void)via_chroma->invoke(R"({"query":)" + json::quote(q) + "}");
      tool_chroma_ms += ms_since(t0);
      t0 = std::chrono::steady_clock::now();
      (void)via_embedded->invoke(R"({"query":)" + json::quote(q) + "}");
      tool_embedded_ms += ms_since(t0);
    }
  double per = static_cast<double>(rounds * questions.size());
  // A rebuild from scratch: delete the collection, then load again (no embedding: the vectors
  // are the ones computed above).
  REQUIRE(client.remove(st.collection).ok());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(store->load(**chroma, vectors, fingerprint, *rt->ollama).ok());
  double rebuild_ms = ms_since(t0);
  CHECK(store->status().upserted == n);
  t0 = std::chrono::steady_clock::now();
  REQUIRE(store->load(**chroma, vectors, fingerprint, *rt->ollama).ok());
  double reuse_ms = ms_since(t0);
  CHECK(store->status().reused);
  std::printf("chroma measurements (%zu chunks, 512 dimensions, %s):\n"
              "  open_retriever with Chroma, embedding included: %.1f ms\n"
              "  collection build (create + upsert + count + stale scan): %.1f ms; reuse check: %.1f ms\n"
              "  similarities per query: chroma %.3f ms, embedded %.4f ms (%d x %zu queries)\n"
              "  getProductInformation per call (query embedding included): chroma %.3f ms, embedded %.3f ms\n",
              n, url.c_str(), open_ms, rebuild_ms, reuse_ms, chroma_ms / per, embedded_ms / per, rounds,
              questions.size(), tool_chroma_ms / per, tool_embedded_ms / per);
}

TEST_CASE("a changed catalog or embedding model builds a new collection and deletes the stale one", "[chroma][live]") {
  std::string url = chroma_url();
  std::string prefix = unique_prefix("change");
  collections_cleanup cleanup{url, prefix};
  http_test_server embedder;
  testing::serve_toy_embeddings(embedder);
  auto rt = toy_runtime(embedder);
  testing::temp_dir products("eventide-chroma-products");
  copy_catalog(products.path);

  auto open = [&](const std::shared_ptr<provider_runtime>& runtime, const std::string& dir)
      -> std::pair<std::shared_ptr<product_retriever>, std::shared_ptr<chroma_vector_store>> {
    auto store = std::make_shared<chroma_vector_store>(settings_for(url, prefix), runtime->http);
    embedding_index_info info;
    auto r = open_retriever(dir, runtime->embeddings(), "", 0.5, {}, &info, store);
    REQUIRE(r.ok());
    INFO(info.store_error);
    REQUIRE(info.store_error.empty());
    return {*r, store};
  };

  auto [first, first_store] = open(rt, products.path);
  auto a = first_store->status();
  const std::size_t n = first->chunks().size();
  CHECK(a.upserted == n);
  CHECK(a.deleted.empty());

  // The same catalog again (another worker, a restart): the collection is reused as it is.
  auto [again, again_store] = open(rt, products.path);
  auto a2 = again_store->status();
  CHECK(a2.collection == a.collection);
  CHECK(a2.collection_id == a.collection_id);
  CHECK(a2.reused);
  CHECK(a2.upserted == 0);
  CHECK(a2.deleted.empty());

  // One product changes: a new section and a new price.
  {
    std::ifstream in(fs::path(products.path) / "aurora-x1.md");
    std::stringstream buf;
    buf << in.rdbuf();
    std::string md = buf.str();
    auto at = md.find("price: 1299");
    REQUIRE(at != std::string::npos);
    md.replace(at, 11, "price: 1199");
    md += "\n## Accessories\nA sleeve in recycled felt is sold separately for 29 USD.\n";
    std::ofstream out(fs::path(products.path) / "aurora-x1.md", std::ios::trunc);
    out << md;
  }
  auto [changed, changed_store] = open(rt, products.path);
  auto b = changed_store->status();
  CHECK(b.collection != a.collection);
  CHECK(b.collection == chroma_collection_name(prefix, catalog_fingerprint(products.path), "ollama", "toy-bow-512"));
  CHECK(changed->chunks().size() == n + 1);
  CHECK(b.upserted == n + 1);
  CHECK(b.deleted == std::vector<std::string>{a.collection});
  auto& client = changed_store->client();
  auto gone = client.find(a.collection);
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
  auto count = client.count(b.collection_id);
  REQUIRE(count.ok());
  CHECK(*count == n + 1);
  // Answers come from the new catalog, as the embedded index over it gives them.
  auto embedded = open_retriever(products.path, rt->embeddings(), "", 0.5);
  REQUIRE(embedded.ok());
  auto via_chroma = make_product_info_tool(std::shared_ptr<const product_retriever>(changed));
  auto via_embedded = make_product_info_tool(std::shared_ptr<const product_retriever>(*embedded));
  for (const char* q : {"Aurora X1 felt sleeve accessories", "How much does the Aurora X1 cost?",
                        "Nimbus Pro battery"}) {
    auto got = tool_result(*via_chroma, q);
    check_same_ranking(got, tool_result(*via_embedded, q), q);
    CHECK(text(got, "vectorStore") == "chroma");
    CHECK(text(got, "retrieval") == "hybrid");
  }
  auto felt = tool_result(*via_chroma, "Aurora X1 felt sleeve accessories");
  CHECK(text(felt["chunks"][0], "text").find("recycled felt") != std::string::npos);
  CHECK(felt["price"].GetDouble() == 1199);

  // Another embedding model (same server, another name): another collection; the old one goes.
  auto other_model = toy_runtime(embedder, "toy-bow-512-v2");
  auto [remodelled, remodelled_store] = open(other_model, products.path);
  auto c = remodelled_store->status();
  CHECK(c.collection == chroma_collection_name(prefix, catalog_fingerprint(products.path), "ollama", "toy-bow-512-v2"));
  CHECK(c.upserted == n + 1);
  CHECK(c.deleted == std::vector<std::string>{b.collection});
  auto all = client.list();
  REQUIRE(all.ok());
  std::vector<std::string> ours;
  for (const auto& col : all.value())
    if (col.name.rfind(prefix + "-", 0) == 0)
      ours.push_back(col.name);
  CHECK(ours == std::vector<std::string>{c.collection});
}

TEST_CASE("Chroma down: queries are ranked by BM25 with the reason, and hybrid again once it is back", "[chroma][live]") {
  (void)chroma_url(); // skip or fail like the other cases when no Chroma can be had
  private_server server;
  std::string prefix = unique_prefix("down");
  http_test_server embedder;
  testing::serve_toy_embeddings(embedder);
  auto rt = toy_runtime(embedder);
  auto bm25 = make_product_info_tool(products_dir);
  auto embedded = open_retriever(products_dir, rt->embeddings(), "", 0.5);
  REQUIRE(embedded.ok());
  auto via_embedded = make_product_info_tool(std::shared_ptr<const product_retriever>(*embedded));

  logged log;
  auto store = std::make_shared<chroma_vector_store>(settings_for(server.url, prefix), rt->http, log.sink());
  auto opened = open_retriever(products_dir, rt->embeddings(), "", 0.5, log.sink(), nullptr, store);
  REQUIRE(opened.ok());
  auto tool = make_product_info_tool(std::shared_ptr<const product_retriever>(*opened));
  const std::string q = "Which headphones have the longest battery life?";
  auto before = tool_result(*tool, q);
  CHECK(text(before, "retrieval") == "hybrid");
  check_same_ranking(before, tool_result(*via_embedded, q), q);

  server.stop_server();
  // Another query: the scores of one already asked are kept (they cannot change) and need no
  // Chroma.
  const std::string q2 = "Which laptop has the longest battery life?";
  auto down = tool_result(*tool, q2);
  CHECK(text(down, "retrieval") == "bm25");
  CHECK(text(down, "vectorStore") == "chroma");
  std::string why = text(down, "retrievalFallback");
  CHECK(why.rfind("chroma unavailable: chroma: giving up after 2 attempts: connect failed: " + server.url
                  + "/api/v2/tenants/default_tenant/databases/default_database/collections/", 0) == 0);
  // Ranked exactly as BM25 alone ranks it.
  auto lexical = tool_result(*bm25, q2);
  CHECK(text(down, "name") == text(lexical, "name"));
  CHECK(json::dump(down["chunks"]) == json::dump(lexical["chunks"]));
  CHECK(log.has("hybrid retrieval: chroma unavailable: chroma: giving up after 2 attempts: connect failed: "));

  // A worker that starts while Chroma is down: BM25 with the reason, from the first query on.
  logged late_log;
  auto late_store = std::make_shared<chroma_vector_store>(settings_for(server.url, prefix + "l"), rt->http,
                                                          late_log.sink());
  embedding_index_info late_info;
  auto late = open_retriever(products_dir, rt->embeddings(), "", 0.5, late_log.sink(), &late_info, late_store);
  REQUIRE(late.ok());
  CHECK((*late)->hybrid());
  CHECK(late_info.store_error.find("connect failed") != std::string::npos);
  CHECK(late_log.has("hybrid retrieval: chroma unavailable, queries are ranked by BM25 until it answers: collection "
                     + prefix + "l-"));
  auto late_tool = make_product_info_tool(std::shared_ptr<const product_retriever>(*late));
  CHECK(text(tool_result(*late_tool, q2), "retrieval") == "bm25");

  // Chroma back (same data): both are hybrid again; the late one builds its collection now.
  server.start_server();
  std::this_thread::sleep_for(std::chrono::milliseconds(250)); // the breaker's open_ms
  const std::string q3 = "Is the Sonora Studio waterproof?";
  auto back = tool_result(*tool, q3);
  CHECK(text(back, "retrieval") == "hybrid");
  CHECK_FALSE(back.HasMember("retrievalFallback"));
  check_same_ranking(back, tool_result(*via_embedded, q3), q3);
  auto late_back = tool_result(*late_tool, q3);
  CHECK(text(late_back, "retrieval") == "hybrid");
  check_same_ranking(late_back, tool_result(*via_embedded, q3), q3);
  CHECK(late_store->status().ready);
  CHECK(late_store->status().upserted == (*late)->chunks().size());

  // The collection deleted behind the store's back (a Chroma restarted without its data): the
  // next query builds it again and is still answered hybrid.
  auto name = store->status().collection;
  auto removed = store->client().remove(name);
  REQUIRE(removed.ok());
  CHECK(*removed);
  auto rebuilt = tool_result(*tool, q + " again");
  CHECK(text(rebuilt, "retrieval") == "hybrid");
  auto found = store->client().find(name);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  auto count = store->client().count((*found)->id);
  REQUIRE(count.ok());
  CHECK(*count == (*opened)->chunks().size());
  CHECK(store->status().builds == 2);
  CHECK(log.has("chroma: collection " + name + " not found; building it again"));
}
