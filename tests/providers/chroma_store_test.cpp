// The ChromaDB vector store's pure parts (collection names, prefix rules, Chroma's replies, the
// mapping of distances to chunks, the options) and its requests against a loopback stand-in
// that answers like chromadb 1.5.9's REST API v2. The real server is tested by tests/chroma/.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "providers/catalog.hpp"
#include "providers/chroma_store.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/provider_config.hpp"
#include "tests/tools/http_test_server.hpp"
#include "tests/tools/toy_embeddings.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;
using eventide::testing::recorded_request;
using eventide::testing::scripted_response;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";
const std::string base = "/api/v2/tenants/default_tenant/databases/default_database/collections";

// A Collection as chromadb 1.5.9 answers it (trimmed: no schema).
std::string collection_json(const std::string& id, const std::string& name,
                            const std::string& metadata = "null",
                            const std::string& space = "cosine") {
  return R"({"id":")" + id + R"(","name":")" + name
         + R"(","configuration_json":{"hnsw":{"space":")" + space
         + R"(","ef_construction":100,"ef_search":100,"max_neighbors":16,"resize_factor":1.2,"sync_threshold":1000},"spann":null,"embedding_function":null},"metadata":)"
         + metadata
         + R"(,"dimension":null,"tenant":"default_tenant","database":"default_database","log_position":0,"version":0})";
}

std::vector<std::vector<float>> toy_vectors(const product_retriever& r) {
  std::vector<std::vector<float>> out;
  for (const auto& c : r.chunks()) {
    auto v = testing::toy_embedding(c.text);
    out.emplace_back(v.begin(), v.end());
  }
  return out;
}

std::shared_ptr<provider_runtime> toy_runtime() {
  provider_config c;
  c.embeddings_chain = {"ollama", "offline"};
  c.ollama_embedding_model = "toy-bow-512";
  c.retry.max_attempts = 1;
  return make_provider_runtime(c);
}

} // namespace

TEST_CASE("collection names carry the catalog fingerprint and the embedder", "[chroma]") {
  std::string name = chroma_collection_name("eventide-products", "0123456789abcdef", "ollama", "toy-bow-512");
  // 29047bbb: the first 8 hex digits of FNV-1a 64 over "ollama\ntoy-bow-512".
  CHECK(name == "eventide-products-0123456789abcdef-29047bbb");
  CHECK(chroma_collection_name("eventide-products", "0123456789abcdef", "openai", "toy-bow-512")
        == "eventide-products-0123456789abcdef-b3166543");
  CHECK(chroma_collection_name("eventide-products", "0123456789abcdef", "ollama", "nomic-embed-text")
        == "eventide-products-0123456789abcdef-cad13d9d");
  CHECK(chroma_collection_name("eventide-products", "fedcba9876543210", "ollama", "toy-bow-512") != name);
  // The longest prefix still gives a name of at most 63 characters.
  std::string longest(chroma_prefix_max, 'p');
  CHECK(chroma_collection_name(longest, "0123456789abcdef", "ollama", "m").size() == 63);
}

TEST_CASE("a prefix claims only the names it makes", "[chroma]") {
  std::string name = chroma_collection_name("shop", "0123456789abcdef", "ollama", "toy-bow-512");
  CHECK(chroma_name_has_prefix(name, "shop"));
  // Another deployment's prefix that starts with this one is not this one's.
  CHECK_FALSE(chroma_name_has_prefix(
      chroma_collection_name("shop-v2", "0123456789abcdef", "ollama", "toy-bow-512"), "shop"));
  CHECK_FALSE(chroma_name_has_prefix("shop-notes", "shop"));
  CHECK_FALSE(chroma_name_has_prefix("shop-0123456789ABCDEF-29047bbb", "shop"));
  CHECK_FALSE(chroma_name_has_prefix("shop-0123456789abcdef_29047bbb", "shop"));
  CHECK_FALSE(chroma_name_has_prefix("shop-0123456789abcdef-29047bbbb", "shop"));
  CHECK_FALSE(chroma_name_has_prefix(name, "sho"));
}

TEST_CASE("collection prefixes follow Chroma's naming rules", "[chroma]") {
  CHECK(check_chroma_collection_prefix("eventide-products").ok());
  CHECK(check_chroma_collection_prefix("a").ok());
  CHECK(check_chroma_collection_prefix("Shop_2.catalog").ok());
  CHECK(check_chroma_collection_prefix(std::string(37, 'x')).ok());
  CHECK(check_chroma_collection_prefix(std::string(38, 'x')).error()
        == "'" + std::string(38, 'x') + "' must be 1 to 37 characters");
  CHECK(check_chroma_collection_prefix("").error() == "'' must be 1 to 37 characters");
  CHECK(check_chroma_collection_prefix("-shop").error() == "'-shop' must start with a letter or digit");
  CHECK(check_chroma_collection_prefix("my shop").error()
        == "'my shop' may hold only letters, digits, '.', '_' and '-'");
  CHECK(check_chroma_collection_prefix("shop/x").error()
        == "'shop/x' may hold only letters, digits, '.', '_' and '-'");
  CHECK(check_chroma_collection_prefix("a..b").error() == "'a..b' must not contain '..'");
}

TEST_CASE("Chroma's replies are parsed, and a bad one is a clear failure", "[chroma]") {
  SECTION("a collection") {
    auto c = parse_chroma_collection(collection_json(
        "3b63a642-c40a-4a01-b371-e5aef1acf0ce", "probe-1",
        R"({"eventide:fingerprint":"abc","eventide:chunks":56,"flag":true})"));
    REQUIRE(c.ok());
    CHECK(c->id == "3b63a642-c40a-4a01-b371-e5aef1acf0ce");
    CHECK(c->name == "probe-1");
    CHECK(c->space == "cosine");
    CHECK(c->metadata == std::map<std::string, std::string>{
                             {"eventide:chunks", "56"}, {"eventide:fingerprint", "abc"}, {"flag", "true"}});
    CHECK(parse_chroma_collection(R"({"name":"x"})").error()
          == R"(a collection has no id or name: {"name":"x"})");
    CHECK(parse_chroma_collection("<html>").error() == "collection reply is not JSON: <html>");
  }
  SECTION("a list of collections") {
    auto list = parse_chroma_collections("[" + collection_json("i1", "a") + ","
                                         + collection_json("i2", "b", "null", "l2") + "]");
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    CHECK((*list)[1].name == "b");
    CHECK((*list)[1].space == "l2");
    CHECK(parse_chroma_collections("{}").error() == "collection list is not a JSON array: {}");
  }
  SECTION("a query") {
    // As chromadb 1.5.9 answered include ["distances"].
    auto hits = parse_chroma_query(
        R"({"ids":[["a","b","c"]],"embeddings":null,"documents":null,"uris":null,"metadatas":null,"distances":[[0.0049628615,0.22604275,1.0]],"include":["distances"]})");
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == 3);
    CHECK((*hits)[0].id == "a");
    CHECK((*hits)[0].distance == Approx(0.0049628615));
    CHECK((*hits)[2].distance == 1.0);
    CHECK(parse_chroma_query(R"({"ids":[["a"]],"distances":[[0.1,0.2]]})").error()
          == "query reply has 1 ids but 2 distances");
    CHECK(parse_chroma_query(R"({"ids":[["a"]]})").error()
          == R"(query reply has no ids[0] and distances[0] arrays: {"ids":[["a"]]})");
    CHECK(parse_chroma_query(R"({"ids":[[1]],"distances":[[0.1]]})").error()
          == "query reply: ids[0][0] or distances[0][0] is not a string and a number");
    CHECK(parse_chroma_query(R"({"error":"NotFoundError"})").ok() == false);
  }
  SECTION("records") {
    auto records = parse_chroma_records(
        R"({"ids":["a","b"],"embeddings":[[0.5,0.25],[1,0]],"documents":["x",null],"metadatas":[{"product_id":"p1"},null],"include":["embeddings","documents","metadatas"]})");
    REQUIRE(records.ok());
    REQUIRE(records->size() == 2);
    CHECK((*records)[0].embedding == std::vector<float>{0.5f, 0.25f});
    CHECK((*records)[0].document == "x");
    CHECK((*records)[0].metadata.at("product_id") == "p1");
    CHECK((*records)[1].document.empty());
    CHECK((*records)[1].metadata.empty());
  }
}

TEST_CASE("distances become cosine similarities in chunk order", "[chroma]") {
  std::vector<std::string> ids = {"x#0", "x#1", "y#0"};
  auto s = similarities_from_hits({{"y#0", 0.25}, {"x#0", 0.5}, {"x#1", 1.5}}, ids);
  REQUIRE(s.ok());
  CHECK(*s == std::vector<double>{0.5, -0.5, 0.75});
  auto partial = similarities_from_hits({{"x#1", 0.0}}, ids); // not returned: 0
  REQUIRE(partial.ok());
  CHECK(*partial == std::vector<double>{0.0, 1.0, 0.0});
  CHECK(similarities_from_hits({{"z#9", 0.1}}, ids).error()
        == "the collection holds 'z#9', which is no chunk of the catalog");
  CHECK(similarities_from_hits({{"x#0", 0.1}, {"x#0", 0.1}}, ids).error()
        == "the query returned 'x#0' twice");
}

TEST_CASE("vector-store and chroma options are validated", "[chroma][config]") {
  provider_config c;
  CHECK(c.vector_store == "embedded");
  CHECK(set_provider_option(c, "vector-store", "qdrant").error()
        == "vector-store: expected 'embedded' or 'chroma', got 'qdrant'");
  CHECK(set_provider_option(c, "chroma-url", "127.0.0.1:8000").error()
        == "chroma-url: expected an http:// or https:// URL, got '127.0.0.1:8000'");
  CHECK(set_provider_option(c, "chroma-collection", "my shop").error()
        == "chroma-collection: 'my shop' may hold only letters, digits, '.', '_' and '-'");
  CHECK(set_provider_option(c, "chroma-timeout-ms", "0").error()
        == "chroma-timeout-ms: expected an integer from 1 to 600000, got '0'");
  REQUIRE(set_provider_option(c, "vector-store", "chroma").ok());
  REQUIRE(set_provider_option(c, "chroma-url", "http://chroma:8000").ok());
  REQUIRE(set_provider_option(c, "chroma-collection", "shop-a").ok());
  REQUIRE(set_provider_option(c, "chroma-tenant", "t1").ok());
  REQUIRE(set_provider_option(c, "chroma-database", "d1").ok());
  REQUIRE(set_provider_option(c, "chroma-timeout-ms", "2500").ok());
  CHECK(c.chroma_url == "http://chroma:8000");
  CHECK(c.chroma_collection == "shop-a");
  CHECK(c.chroma_tenant == "t1");
  CHECK(c.chroma_database == "d1");
  CHECK(c.chroma_timeout_ms == 2500);
  // Chroma only stores and searches: the vectors come from the embeddings chain.
  CHECK(check_provider_config(c).error()
        == "provider config: vector-store 'chroma' needs an embedder in llm-embeddings-chain "
           "(Chroma stores and searches the vectors Eventide computes)");
  REQUIRE(set_provider_option(c, "llm-embeddings-chain", "ollama,offline").ok());
  CHECK(check_provider_config(c).ok());
  for (const char* key : {"vector-store", "chroma-url", "chroma-tenant", "chroma-database",
                          "chroma-collection", "chroma-timeout-ms"}) {
    const auto& keys = provider_option_keys();
    CHECK(std::find(keys.begin(), keys.end(), key) != keys.end());
  }
}

TEST_CASE("the Chroma store's requests, against a stand-in for the REST API", "[chroma]") {
  auto opened = product_retriever::open(products_dir);
  REQUIRE(opened.ok());
  const product_retriever& catalog = opened.value();
  const std::size_t n = catalog.chunks().size();
  auto vectors = toy_vectors(catalog);
  auto rt = toy_runtime();
  std::string fingerprint = catalog_fingerprint(products_dir);
  std::string name = chroma_collection_name("eventide-products", fingerprint, "ollama", "toy-bow-512");
  const std::string id = "11111111-2222-3333-4444-555555555555";
  const std::string stale = "eventide-products-0000000000000000-29047bbb";

  http_test_server server;
  std::atomic<std::size_t> held{0};
  std::atomic<bool> exists{false};
  std::atomic<int> query_404s{0};
  server.set_handler(base, [&](const recorded_request& r) {
    if (r.method == "POST") {
      exists = true;
      return scripted_response{200, collection_json(id, name, R"({"eventide:index":"products"})"), {}, 0};
    }
    // GET: the current collection (when it exists), a stale one of Eventide's, one of the
    // prefix that is not Eventide's (no eventide:index) and one of another prefix.
    std::string list = "[" + collection_json("s1", stale, R"({"eventide:index":"products"})") + ","
                       + collection_json("s2", "eventide-products-notes") + ","
                       + collection_json("s4", "eventide-products-v2-0000000000000000-29047bbb",
                                         R"({"eventide:index":"products"})") + ","
                       + collection_json("s3", "other-0000000000000000-29047bbb",
                                         R"({"eventide:index":"products"})");
    if (exists)
      list += "," + collection_json(id, name, R"({"eventide:index":"products"})");
    return scripted_response{200, list + "]", {}, 0};
  });
  server.set_handler(base + "/" + stale, [&](const recorded_request& r) {
    return scripted_response{r.method == "DELETE" ? 200 : 405, "{}", {}, 0};
  });
  server.set_handler(base + "/" + id + "/count", [&](const recorded_request&) {
    return scripted_response{200, std::to_string(held.load()), {}, 0};
  });
  server.set_handler(base + "/" + id + "/upsert", [&](const recorded_request& r) {
    auto body = json::parse(r.body);
    if (!body || !(*body)["ids"].IsArray())
      return scripted_response{400, R"({"error":"InvalidArgumentError"})", {}, 0};
    held = (*body)["ids"].Size();
    return scripted_response{200, "{}", {}, 0};
  });
  server.set_handler(base + "/" + id + "/query", [&](const recorded_request&) {
    if (query_404s > 0) {
      --query_404s;
      exists = false;
      held = 0;
      return scripted_response{404, R"({"error":"NotFoundError","message":"Collection does not exist"})", {}, 0};
    }
    return scripted_response{200,
                             R"({"ids":[["aurora-x1#0","nimbus-pro#0"]],"distances":[[0.25,0.5]],"include":["distances"]})",
                             {}, 0};
  });

  chroma_settings settings;
  settings.url = server.url() + "/"; // a trailing slash is dropped
  std::vector<std::string> log;
  std::mutex log_mu;
  auto store = std::make_shared<chroma_vector_store>(settings, rt->http, [&](const std::string& l) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.push_back(l);
  });
  REQUIRE(store->load(catalog, vectors, fingerprint, *rt->ollama).ok());
  auto st = store->status();
  CHECK(st.collection == name);
  CHECK(st.collection_id == id);
  CHECK(st.ready);
  CHECK_FALSE(st.reused);
  CHECK(st.upserted == n);
  CHECK(st.deleted == std::vector<std::string>{stale});
  CHECK(st.builds == 1);

  // Create: the name, get_or_create, Eventide's metadata and a cosine HNSW index.
  auto creates = server.requests(base);
  REQUIRE(creates.size() >= 2);
  CHECK(creates[0].method == "POST");
  auto create = json::parse(creates[0].body);
  REQUIRE(create.ok());
  CHECK(json::get_string(*create, "name") == name);
  CHECK(json::get_bool(*create, "get_or_create") == true);
  CHECK(json::dump((*create)["metadata"])
        == R"({"eventide:chunks":")" + std::to_string(n) + R"(","eventide:dimensions":"512",)"
           R"("eventide:fingerprint":")" + fingerprint + R"(","eventide:index":"products",)"
           R"("eventide:model":"toy-bow-512","eventide:provider":"ollama"})");
  CHECK(json::dump((*create)["configuration"]) == R"({"hnsw":{"space":"cosine","ef_search":100}})");
  // Upsert: every chunk with Eventide's vector, its text and its product.
  auto upserts = server.requests(base + "/" + id + "/upsert");
  REQUIRE(upserts.size() == 1);
  auto up = json::parse(upserts[0].body);
  REQUIRE(up.ok());
  REQUIRE((*up)["ids"].Size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    auto k = static_cast<rapidjson::SizeType>(i);
    CHECK((*up)["ids"][k].GetString() == catalog.chunks()[i].id);
    CHECK((*up)["documents"][k].GetString() == catalog.chunks()[i].text);
    const auto& v = (*up)["embeddings"][k];
    REQUIRE(v.Size() == 512);
    bool same = true;
    for (rapidjson::SizeType d = 0; d < v.Size(); ++d)
      same = same && static_cast<float>(v[d].GetDouble()) == vectors[i][d];
    CHECK(same);
  }
  CHECK(json::dump((*up)["metadatas"][0])
        == R"({"product_id":"aurora-x1","product_name":"Aurora X1","source":"products/aurora-x1.md"})");
  // Only the stale collection of Eventide's was deleted.
  CHECK(server.requests(base + "/" + stale).size() == 1);
  CHECK(server.requests(base + "/" + stale)[0].method == "DELETE");
  CHECK(server.request_count(base + "/eventide-products-notes") == 0);
  CHECK(server.request_count(base + "/eventide-products-v2-0000000000000000-29047bbb") == 0);

  SECTION("loading again finds the collection complete and writes nothing") {
    REQUIRE(store->load(catalog, vectors, fingerprint, *rt->ollama).ok());
    CHECK(store->status().reused);
    CHECK(store->status().upserted == 0);
    CHECK(server.requests(base + "/" + id + "/upsert").size() == 1);
  }
  SECTION("a query reads every chunk's distance") {
    auto q = store->similarities(vectors[0]);
    REQUIRE(q.ok());
    REQUIRE(q->size() == n);
    CHECK((*q)[0] == 0.75); // aurora-x1#0: 1 - 0.25
    auto queries = server.requests(base + "/" + id + "/query");
    REQUIRE(queries.size() == 1);
    auto body = json::parse(queries[0].body);
    REQUIRE(body.ok());
    CHECK(json::get_int(*body, "n_results") == static_cast<int64_t>(n));
    CHECK(json::dump((*body)["include"]) == R"(["distances"])");
    CHECK((*body)["query_embeddings"][0].Size() == 512);
  }
  SECTION("a collection gone from the server is built again by the next query") {
    query_404s = 1;
    auto q = store->similarities(vectors[0]);
    REQUIRE(q.ok());
    CHECK((*q)[0] == 0.75);
    CHECK(server.requests(base + "/" + id + "/upsert").size() == 2);
    CHECK(store->status().builds == 2);
    CHECK(store->status().deleted == std::vector<std::string>{stale}); // only load() deletes
    bool noted = false;
    for (const auto& l : log)
      noted = noted || l == "chroma: collection " + name + " not found; building it again";
    CHECK(noted);
  }
  SECTION("a failing query fails that query, naming Chroma's reply") {
    server.set_default(base + "/" + id + "/query", {400, R"({"error":"InvalidArgumentError","message":"Collection expecting embedding with dimension of 512, got 2"})", {}, 0});
    auto q = store->similarities({1.0f, 0.0f});
    REQUIRE_FALSE(q.ok());
    CHECK(q.error().rfind("HTTP 400 from " + server.url() + base + "/" + id + "/query: ", 0) == 0);
    CHECK(q.error().find("dimension of 512, got 2") != std::string::npos);
  }
}

TEST_CASE("Chroma unreachable while loading: the failure says where, the query builds it later", "[chroma]") {
  auto opened = product_retriever::open(products_dir);
  REQUIRE(opened.ok());
  auto vectors = toy_vectors(*opened);
  auto rt = toy_runtime();
  chroma_settings settings;
  settings.url = "http://127.0.0.1:9"; // discard port: nothing listens
  settings.connect_timeout_ms = 500;
  chroma_vector_store store(settings, rt->http);
  auto loaded = store.load(*opened, vectors, catalog_fingerprint(products_dir), *rt->ollama);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.error().rfind("collection eventide-products-", 0) == 0);
  CHECK(loaded.error().find(": chroma: giving up after 1 attempt: connect failed: http://127.0.0.1:9" + base + ": ")
        != std::string::npos);
  CHECK_FALSE(store.status().ready);
  auto q = store.similarities(vectors[0]);
  REQUIRE_FALSE(q.ok());
  CHECK(q.error().find("connect failed") != std::string::npos);
}
