#include "providers/chroma_store.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <set>

#include "core/json.hpp"
#include "providers/catalog.hpp"
#include "providers/http.hpp"
#include "providers/llm.hpp"

namespace eventide::providers {

namespace {

constexpr const char* circuit_key = "chroma";
constexpr std::size_t upsert_batch = 256; // records per upsert request
constexpr int list_page = 100;            // collections per page of GET .../collections

std::string fnv1a_hex(const std::string& data) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::map<std::string, std::string> metadata_of(const json::value& v) {
  std::map<std::string, std::string> out;
  if (!v.IsObject())
    return out;
  for (const auto& m : v.GetObject())
    if (!m.value.IsNull() && !m.value.IsObject() && !m.value.IsArray())
      out[std::string(m.name.GetString(), m.name.GetStringLength())] = json::to_text(m.value);
  return out;
}

outcome<chroma_collection> collection_of(const json::value& v) {
  if (!v.IsObject())
    return fail("a collection is not a JSON object");
  chroma_collection c;
  auto id = json::get_string(v, "id");
  auto name = json::get_string(v, "name");
  if (!id || id->empty() || !name)
    return fail("a collection has no id or name");
  c.id = *id;
  c.name = *name;
  if (auto it = v.FindMember("metadata"); it != v.MemberEnd())
    c.metadata = metadata_of(it->value);
  if (const json::value* space = json::find_path(v, "configuration_json.hnsw.space");
      space && space->IsString())
    c.space = space->GetString();
  return c;
}

json::value metadata_json(const std::map<std::string, std::string>& metadata, json::allocator& a) {
  json::value out(rapidjson::kObjectType);
  for (const auto& [key, value] : metadata)
    out.AddMember(json::str(key, a), json::str(value, a), a);
  return out;
}

json::value vector_json(const std::vector<float>& v, json::allocator& a) {
  json::value out(rapidjson::kArrayType);
  out.Reserve(static_cast<rapidjson::SizeType>(v.size()), a);
  // A float widened to double prints (shortest round trip) as a number that Chroma reads back
  // as exactly the same float.
  for (float x : v)
    out.PushBack(static_cast<double>(x), a);
  return out;
}

} // namespace

// --- pure parts ------------------------------------------------------------------------------

outcome<void> check_chroma_collection_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > chroma_prefix_max)
    return fail("'" + std::string(prefix) + "' must be 1 to " + std::to_string(chroma_prefix_max)
                + " characters");
  if (!alnum(prefix.front()))
    return fail("'" + std::string(prefix) + "' must start with a letter or digit");
  for (char c : prefix)
    if (!alnum(c) && c != '.' && c != '_' && c != '-')
      return fail("'" + std::string(prefix) + "' may hold only letters, digits, '.', '_' and '-'");
  if (prefix.find("..") != std::string_view::npos)
    return fail("'" + std::string(prefix) + "' must not contain '..'");
  return {};
}

std::string chroma_collection_name(const std::string& prefix, const std::string& fingerprint,
                                   const std::string& provider, const std::string& model) {
  return prefix + "-" + fingerprint + "-" + fnv1a_hex(provider + "\n" + model).substr(0, 8);
}

bool chroma_name_has_prefix(std::string_view name, std::string_view prefix) {
  constexpr std::size_t tail = 1 + 16 + 1 + 8; // "-<fingerprint>-<embedder>"
  if (name.size() != prefix.size() + tail || name.substr(0, prefix.size()) != prefix)
    return false;
  auto rest = name.substr(prefix.size());
  for (std::size_t i = 0; i < rest.size(); ++i) {
    char c = rest[i];
    bool dash = i == 0 || i == 17;
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (dash ? c != '-' : !hex)
      return false;
  }
  return true;
}

outcome<chroma_collection> parse_chroma_collection(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc)
    return fail("collection reply is not JSON: " + body_start(body));
  auto c = collection_of(*doc);
  if (!c)
    return fail(c.error() + ": " + body_start(body));
  return c;
}

outcome<std::vector<chroma_collection>> parse_chroma_collections(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsArray())
    return fail("collection list is not a JSON array: " + body_start(body));
  std::vector<chroma_collection> out;
  for (const auto& v : doc->GetArray()) {
    auto c = collection_of(v);
    if (!c)
      return fail(c.error() + ": " + body_start(body));
    out.push_back(std::move(c.value()));
  }
  return out;
}

outcome<std::vector<chroma_hit>> parse_chroma_query(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject())
    return fail("query reply is not a JSON object: " + body_start(body));
  const json::value* ids = json::find_path(*doc, "ids[0]");
  const json::value* distances = json::find_path(*doc, "distances[0]");
  if (!ids || !ids->IsArray() || !distances || !distances->IsArray())
    return fail("query reply has no ids[0] and distances[0] arrays: " + body_start(body));
  if (ids->Size() != distances->Size())
    return fail("query reply has " + std::to_string(ids->Size()) + " ids but "
                + std::to_string(distances->Size()) + " distances");
  std::vector<chroma_hit> out;
  for (rapidjson::SizeType i = 0; i < ids->Size(); ++i) {
    const auto& id = (*ids)[i];
    const auto& d = (*distances)[i];
    if (!id.IsString() || !d.IsNumber())
      return fail("query reply: ids[0][" + std::to_string(i) + "] or distances[0]["
                  + std::to_string(i) + "] is not a string and a number");
    out.push_back({std::string(id.GetString(), id.GetStringLength()), d.GetDouble()});
  }
  return out;
}

outcome<std::vector<chroma_record>> parse_chroma_records(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject())
    return fail("get reply is not a JSON object: " + body_start(body));
  const json::value* ids = json::find_path(*doc, "ids");
  if (!ids || !ids->IsArray())
    return fail("get reply has no ids array: " + body_start(body));
  auto column = [&](const char* name) -> const json::value* {
    const json::value* v = json::find_path(*doc, name);
    return v && v->IsArray() && v->Size() == ids->Size() ? v : nullptr;
  };
  const json::value* embeddings = column("embeddings");
  const json::value* documents = column("documents");
  const json::value* metadatas = column("metadatas");
  std::vector<chroma_record> out;
  for (rapidjson::SizeType i = 0; i < ids->Size(); ++i) {
    chroma_record r;
    if (!(*ids)[i].IsString())
      return fail("get reply: ids[" + std::to_string(i) + "] is not a string");
    r.id = (*ids)[i].GetString();
    if (embeddings && (*embeddings)[i].IsArray())
      for (const auto& x : (*embeddings)[i].GetArray()) {
        if (!x.IsNumber())
          return fail("get reply: embeddings[" + std::to_string(i) + "] holds a non-number");
        r.embedding.push_back(static_cast<float>(x.GetDouble()));
      }
    if (documents && (*documents)[i].IsString())
      r.document = (*documents)[i].GetString();
    if (metadatas)
      r.metadata = metadata_of((*metadatas)[i]);
    out.push_back(std::move(r));
  }
  return out;
}

outcome<std::vector<double>> similarities_from_hits(const std::vector<chroma_hit>& hits,
                                                    const std::vector<std::string>& chunk_ids) {
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < chunk_ids.size(); ++i)
    index.emplace(chunk_ids[i], i);
  std::vector<double> out(chunk_ids.size(), 0.0);
  std::vector<bool> seen(chunk_ids.size(), false);
  for (const auto& h : hits) {
    auto it = index.find(h.id);
    if (it == index.end())
      return fail("the collection holds '" + h.id + "', which is no chunk of the catalog");
    if (seen[it->second])
      return fail("the query returned '" + h.id + "' twice");
    seen[it->second] = true;
    out[it->second] = 1.0 - h.distance; // cosine space: distance = 1 - cosine similarity
  }
  return out;
}

// --- client ----------------------------------------------------------------------------------

chroma_client::chroma_client(chroma_settings settings, std::shared_ptr<resilient_http> http)
    : settings_(std::move(settings)), http_(std::move(http)) {
  settings_.url = without_trailing_slash(settings_.url);
}

bool chroma_client::is_not_found(std::string_view failure) {
  return failure.find("HTTP 404 from ") != std::string_view::npos;
}

std::string chroma_client::collections_url() const {
  return settings_.url + "/api/v2/tenants/" + url_encode(settings_.tenant) + "/databases/"
         + url_encode(settings_.database) + "/collections";
}

outcome<http_response> chroma_client::send(const std::string& method, const std::string& url,
                                           const std::string& body) {
  http_request request;
  request.method = method;
  request.url = url;
  if (!body.empty())
    request.headers = {{"Content-Type", "application/json"}};
  request.body = body;
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  request.timeout_ms = settings_.timeout_ms;
  // Failures name the circuit ("chroma: giving up after 2 attempts: connect failed: <url>: ...")
  // or the status and URL ("HTTP 404 from <url>: <body>").
  return http_->call(circuit_key, std::move(request));
}

outcome<std::string> chroma_client::version() {
  auto r = send("GET", settings_.url + "/api/v2/version");
  if (!r)
    return std::move(r).take_failure();
  auto doc = json::parse(r->body);
  if (!doc || !doc->IsString())
    return fail("bad reply from " + settings_.url + ": version is not a JSON string: "
                + body_start(r->body));
  return std::string(doc->GetString());
}

outcome<chroma_collection> chroma_client::get_or_create(
    const std::string& name, const std::map<std::string, std::string>& metadata, int ef_search) {
  json::document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("name", json::str(name, a), a);
  body.AddMember("get_or_create", true, a);
  body.AddMember("metadata", metadata_json(metadata, a), a);
  json::value hnsw(rapidjson::kObjectType);
  hnsw.AddMember("space", "cosine", a);
  hnsw.AddMember("ef_search", ef_search, a);
  json::value configuration(rapidjson::kObjectType);
  configuration.AddMember("hnsw", hnsw, a);
  body.AddMember("configuration", configuration, a);
  auto r = send("POST", collections_url(), json::dump(body));
  if (!r)
    return std::move(r).take_failure();
  auto c = parse_chroma_collection(r->body);
  if (!c)
    return fail("bad reply from " + settings_.url + ": " + c.error());
  return c;
}

outcome<std::optional<chroma_collection>> chroma_client::find(const std::string& name) {
  auto r = send("GET", collections_url() + "/" + url_encode(name));
  if (!r) {
    if (is_not_found(r.error()))
      return std::optional<chroma_collection>();
    return std::move(r).take_failure();
  }
  auto c = parse_chroma_collection(r->body);
  if (!c)
    return fail("bad reply from " + settings_.url + ": " + c.error());
  return std::optional<chroma_collection>(std::move(c.value()));
}

outcome<std::vector<chroma_collection>> chroma_client::list() {
  std::vector<chroma_collection> out;
  for (int offset = 0;; offset += list_page) {
    auto r = send("GET", collections_url() + "?limit=" + std::to_string(list_page)
                             + "&offset=" + std::to_string(offset));
    if (!r)
      return std::move(r).take_failure();
    auto page = parse_chroma_collections(r->body);
    if (!page)
      return fail("bad reply from " + settings_.url + ": " + page.error());
    std::size_t n = page->size();
    for (auto& c : page.value())
      out.push_back(std::move(c));
    if (n < static_cast<std::size_t>(list_page))
      return out;
  }
}

outcome<bool> chroma_client::remove(const std::string& name) {
  auto r = send("DELETE", collections_url() + "/" + url_encode(name));
  if (!r) {
    if (is_not_found(r.error()))
      return false;
    return std::move(r).take_failure();
  }
  return true;
}

outcome<void> chroma_client::upsert(const std::string& collection_id,
                                    const std::vector<chroma_record>& records) {
  for (std::size_t start = 0; start < records.size(); start += upsert_batch) {
    std::size_t end = std::min(records.size(), start + upsert_batch);
    json::document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    json::value ids(rapidjson::kArrayType), embeddings(rapidjson::kArrayType),
        documents(rapidjson::kArrayType), metadatas(rapidjson::kArrayType);
    for (std::size_t i = start; i < end; ++i) {
      ids.PushBack(json::str(records[i].id, a), a);
      embeddings.PushBack(vector_json(records[i].embedding, a), a);
      documents.PushBack(json::str(records[i].document, a), a);
      metadatas.PushBack(metadata_json(records[i].metadata, a), a);
    }
    body.AddMember("ids", ids, a);
    body.AddMember("embeddings", embeddings, a);
    body.AddMember("documents", documents, a);
    body.AddMember("metadatas", metadatas, a);
    auto r = send("POST", collections_url() + "/" + url_encode(collection_id) + "/upsert",
                  json::dump(body));
    if (!r)
      return std::move(r).take_failure();
  }
  return {};
}

outcome<std::size_t> chroma_client::count(const std::string& collection_id) {
  auto r = send("GET", collections_url() + "/" + url_encode(collection_id) + "/count");
  if (!r)
    return std::move(r).take_failure();
  auto doc = json::parse(r->body);
  if (!doc || !doc->IsUint())
    return fail("bad reply from " + settings_.url + ": count is not a number: " + body_start(r->body));
  return static_cast<std::size_t>(doc->GetUint());
}

outcome<std::vector<chroma_hit>> chroma_client::query(const std::string& collection_id,
                                                      const std::vector<float>& embedding,
                                                      std::size_t n_results) {
  json::document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  json::value queries(rapidjson::kArrayType);
  queries.PushBack(vector_json(embedding, a), a);
  body.AddMember("query_embeddings", queries, a);
  body.AddMember("n_results", static_cast<uint64_t>(n_results), a);
  json::value include(rapidjson::kArrayType);
  include.PushBack("distances", a);
  body.AddMember("include", include, a);
  auto r = send("POST", collections_url() + "/" + url_encode(collection_id) + "/query",
                json::dump(body));
  if (!r)
    return std::move(r).take_failure();
  auto hits = parse_chroma_query(r->body);
  if (!hits)
    return fail("bad reply from " + settings_.url + ": " + hits.error());
  return hits;
}

outcome<std::vector<chroma_record>> chroma_client::get_all(const std::string& collection_id) {
  auto r = send("POST", collections_url() + "/" + url_encode(collection_id) + "/get",
                R"({"include":["embeddings","documents","metadatas"]})");
  if (!r)
    return std::move(r).take_failure();
  auto records = parse_chroma_records(r->body);
  if (!records)
    return fail("bad reply from " + settings_.url + ": " + records.error());
  return records;
}

// --- vector store ----------------------------------------------------------------------------

chroma_vector_store::chroma_vector_store(chroma_settings settings,
                                         std::shared_ptr<resilient_http> http,
                                         std::function<void(const std::string&)> log)
    : client_(std::move(settings), std::move(http)), log_(std::move(log)) {
}

void chroma_vector_store::note(const std::string& line) const {
  if (log_)
    log_("chroma: " + line);
}

chroma_store_status chroma_vector_store::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  chroma_store_status out = status_;
  out.ready = ready_.load();
  return out;
}

outcome<void> chroma_vector_store::load(const product_retriever& catalog,
                                        const std::vector<std::vector<float>>& vectors,
                                        const std::string& fingerprint,
                                        const llm_client& embedder) {
  const auto& chunks = catalog.chunks();
  if (vectors.size() != chunks.size() || chunks.empty())
    return fail(std::to_string(vectors.size()) + " vectors for " + std::to_string(chunks.size())
                + " chunks");
  if (fingerprint.empty())
    return fail("the catalog has no fingerprint (products/ unreadable)");
  std::lock_guard<std::mutex> build_lock(build_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    records_.clear();
    chunk_ids_.clear();
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const auto& c = chunks[i];
      const product* p = catalog.find(c.product_id);
      chroma_record r;
      r.id = c.id;
      r.embedding = vectors[i];
      r.document = c.text;
      r.metadata = {{"product_id", c.product_id},
                    {"product_name", p ? p->name : ""},
                    {"source", c.source}};
      records_.push_back(std::move(r));
      chunk_ids_.push_back(c.id);
    }
    metadata_ = {{"eventide:index", "products"},
                 {"eventide:fingerprint", fingerprint},
                 {"eventide:provider", embedder.name()},
                 {"eventide:model", embedder.embedding_model()},
                 {"eventide:chunks", std::to_string(chunks.size())},
                 {"eventide:dimensions", std::to_string(vectors.front().size())}};
    status_ = {};
    status_.collection = chroma_collection_name(client_.settings().collection_prefix, fingerprint,
                                                embedder.name(), embedder.embedding_model());
    ready_ = false;
  }
  return build(true);
}

outcome<void> chroma_vector_store::build(bool delete_stale) {
  int64_t start = steady_ms();
  std::string name;
  std::vector<chroma_record> records;
  std::map<std::string, std::string> metadata;
  {
    std::lock_guard<std::mutex> lock(mu_);
    name = status_.collection;
    records = records_;
    metadata = metadata_;
  }
  const std::size_t n = records.size();
  auto where = [&](const std::string& what) { return "collection " + name + ": " + what; };
  // ef_search >= n: the HNSW search then visits every record of a catalog-sized collection.
  int ef = static_cast<int>(std::max<std::size_t>(100, n));
  auto collection = client_.get_or_create(name, metadata, ef);
  if (!collection)
    return fail(where(collection.error()));
  if (collection->space != "cosine") { // made by someone else: rebuild it our way
    note(where("space '" + collection->space + "' instead of cosine; recreating it"));
    if (auto removed = client_.remove(name); !removed)
      return fail(where(removed.error()));
    collection = client_.get_or_create(name, metadata, ef);
    if (!collection)
      return fail(where(collection.error()));
  }
  auto held = client_.count(collection->id);
  if (!held)
    return fail(where(held.error()));
  bool reused = *held == n;
  if (*held > n) { // records that are no chunk of this catalog
    note(where(std::to_string(*held) + " records for " + std::to_string(n)
               + " chunks; recreating it"));
    if (auto removed = client_.remove(name); !removed)
      return fail(where(removed.error()));
    collection = client_.get_or_create(name, metadata, ef);
    if (!collection)
      return fail(where(collection.error()));
  }
  if (!reused) {
    if (auto up = client_.upsert(collection->id, records); !up)
      return fail(where(up.error()));
    auto after = client_.count(collection->id);
    if (!after)
      return fail(where(after.error()));
    if (*after != n)
      return fail(where("holds " + std::to_string(*after) + " records after the upsert, expected "
                        + std::to_string(n)));
  }
  std::vector<std::string> deleted;
  if (delete_stale) {
    // Collections of an older catalog or embedder: same prefix, made by Eventide.
    auto all = client_.list();
    if (!all) {
      note(where("stale collections not deleted: " + all.error()));
    } else {
      for (const auto& c : all.value()) {
        if (c.name == name || !chroma_name_has_prefix(c.name, client_.settings().collection_prefix))
          continue;
        auto kind = c.metadata.find("eventide:index");
        if (kind == c.metadata.end() || kind->second != "products")
          continue;
        auto removed = client_.remove(c.name);
        if (!removed) {
          note("stale collection " + c.name + " not deleted: " + removed.error());
          continue;
        }
        deleted.push_back(c.name);
        note("deleted the stale collection " + c.name);
      }
    }
  }
  int64_t ms = steady_ms() - start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.collection_id = collection->id;
    status_.reused = reused;
    status_.upserted = reused ? 0 : n;
    if (delete_stale)
      status_.deleted = deleted;
    status_.build_ms = ms;
    ++status_.builds;
    ready_ = true;
  }
  note(where(reused ? "reused, " + std::to_string(n) + " records"
                    : std::to_string(n) + " records upserted in " + std::to_string(ms) + " ms"));
  return {};
}

outcome<std::vector<double>> chroma_vector_store::similarities(const std::vector<float>& query) {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (records_.empty())
      return fail("no vectors loaded");
    ids = chunk_ids_;
  }
  auto ensure = [&]() -> outcome<void> {
    std::lock_guard<std::mutex> build_lock(build_mu_);
    if (ready_)
      return {}; // another query built it meanwhile
    return build(false);
  };
  auto current_id = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return status_.collection_id;
  };
  for (int attempt = 1;; ++attempt) {
    if (!ready_)
      if (auto built = ensure(); !built)
        return fail(built.error());
    auto hits = client_.query(current_id(), query, ids.size());
    if (!hits) {
      // The collection is gone (deleted, or a server restarted without its data): build it
      // again from the vectors in memory and ask once more.
      if (chroma_client::is_not_found(hits.error()) && attempt == 1) {
        note("collection " + status().collection + " not found; building it again");
        ready_ = false;
        continue;
      }
      return std::move(hits).take_failure();
    }
    auto scores = similarities_from_hits(*hits, ids);
    if (!scores) {
      ready_ = false; // verified (and rebuilt if need be) before the next query
      return fail("collection " + status().collection + ": " + scores.error());
    }
    return scores;
  }
}

} // namespace eventide::providers
