// The offline catalog tools: getProductInformation (BM25 retrieval) and ragGeneration
// (extractive answers with citations). Both load products/ once, in their constructor.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <set>

#include "core/entity_names.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/retrieval.hpp"
#include "providers/catalog.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/offline_tools.hpp"

namespace eventide::providers {

using core::trim;

namespace {

// Scores in results are rounded so they read well and compare exactly across runs.
double round4(double x) { return std::round(x * 10000.0) / 10000.0; }

// The args object and its required non-empty "query", or why they are unusable.
struct query_args {
  json::document doc;
  std::string query;
};

outcome<query_args> parse_query_args(const std::string& args_json) {
  auto parsed = json::parse(args_json);
  if (!parsed)
    return fail("args are not valid JSON: " + parsed.error());
  if (!parsed->IsObject())
    return fail("args must be a JSON object");
  auto query = json::get_string(*parsed, "query");
  if (!query || trim(*query).empty())
    return fail("missing required string arg 'query'");
  query_args out{std::move(parsed.value()), trim(*query)};
  return out;
}

// Shared by both tools: the catalog, or the reason it could not be loaded.
class catalog_tool : public tool {
 public:
  explicit catalog_tool(const std::string& products_dir) {
    try {
      auto opened = product_retriever::open(products_dir);
      if (opened)
        retriever_ = std::make_shared<const product_retriever>(std::move(opened.value()));
      else
        load_error_ = "product catalog unavailable: " + opened.error();
    } catch (const std::exception& e) { // a tool reports problems on invoke, never throws
      load_error_ = "product catalog unavailable: " + std::string(e.what());
    }
  }

  // Shares a retriever built elsewhere (e.g. with hybrid ranking, see hybrid_retrieval.hpp).
  explicit catalog_tool(std::shared_ptr<const product_retriever> retriever)
      : retriever_(std::move(retriever)) {
    if (!retriever_)
      load_error_ = "product catalog unavailable: no retriever given";
  }

  // Hybrid ranking embeds the query over HTTP; BM25 alone only computes.
  bool may_block() const final { return retriever_ && retriever_->hybrid(); }

  tool_output invoke(const std::string& args_json) final {
    if (!retriever_)
      return tool_output::permanent_error(load_error_);
    try {
      return run(*retriever_, args_json);
    } catch (const std::exception& e) { // e.g. bad_alloc: report, never escape a tool
      return tool_output::permanent_error(name() + " failed: " + e.what());
    }
  }

 protected:
  virtual tool_output run(const product_retriever& retriever, const std::string& args_json) = 0;

  // A query that names a product the catalog lacks ("Aurora X2") is answered with that fact and
  // the nearest catalog names, never with the closest product's data.
  static std::optional<std::string> unknown_product(const product_retriever& retriever,
                                                    const std::string& query) {
    std::vector<std::string> names;
    for (const auto& p : retriever.products())
      names.push_back(p.name);
    auto unknown = core::unknown_product_names(query, names);
    if (unknown.empty())
      return std::nullopt;
    auto& span = unknown.front();
    return core::unknown_name_message("product", query.substr(span.begin, span.end - span.begin), names);
  }

 private:
  std::shared_ptr<const product_retriever> retriever_;
  std::string load_error_;
};

class product_info_tool final : public catalog_tool {
 public:
  using catalog_tool::catalog_tool;
  std::string name() const override { return "getProductInformation"; }

 private:
  tool_output run(const product_retriever& retriever, const std::string& args_json) override {
    auto args = parse_query_args(args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    std::size_t top_k = 3;
    if (auto it = args->doc.FindMember("topK"); it != args->doc.MemberEnd()) {
      const auto& v = it->value;
      if (!v.IsNumber() || v.GetDouble() != std::floor(v.GetDouble()) || v.GetDouble() < 1
          || v.GetDouble() > 10)
        return tool_output::permanent_error("topK must be an integer from 1 to 10");
      top_k = static_cast<std::size_t>(v.GetDouble());
    }
    if (auto unknown = unknown_product(retriever, args->query))
      return tool_output::permanent_error(*unknown);

    // Why a hybrid retriever ranked this query by BM25 alone ("" when it did not).
    std::string dense_unavailable;
    auto best = retriever.best_product(args->query, &dense_unavailable);
    if (!best)
      return tool_output::permanent_error("no product matches '" + args->query + "'");
    const product& p = *best->item;

    json::document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    out.AddMember("query", json::str(args->query, a), a);
    out.AddMember("name", json::str(p.name, a), a);
    out.AddMember("price", p.price, a);
    out.AddMember("currency", json::str(p.currency, a), a);
    out.AddMember("category", json::str(p.category, a), a);
    out.AddMember("source", json::str(p.source, a), a);

    json::value facts(rapidjson::kObjectType);
    for (const auto& [key, value] : p.facts)
      facts.AddMember(json::str(key, a), json::str(value, a), a);
    json::value item(rapidjson::kObjectType);
    item.AddMember("id", json::str(p.id, a), a);
    item.AddMember("name", json::str(p.name, a), a);
    item.AddMember("category", json::str(p.category, a), a);
    item.AddMember("price", p.price, a);
    item.AddMember("currency", json::str(p.currency, a), a);
    item.AddMember("facts", facts, a);
    out.AddMember("product", item, a);

    json::value chunks(rapidjson::kArrayType);
    for (const auto& hit : retriever.search(args->query, top_k, &dense_unavailable)) {
      json::value c(rapidjson::kObjectType);
      c.AddMember("id", json::str(hit.passage.id, a), a);
      c.AddMember("text", json::str(hit.passage.text, a), a);
      c.AddMember("score", round4(hit.score), a);
      c.AddMember("source", json::str(hit.passage.source, a), a);
      chunks.PushBack(c, a);
    }
    out.AddMember("chunks", chunks, a);
    out.AddMember("offline", true, a);
    bool hybrid = retriever.hybrid() && dense_unavailable.empty();
    out.AddMember("retrieval", json::value(hybrid ? "hybrid" : "bm25", a), a);
    if (retriever.hybrid()) {
      out.AddMember("vectorStore", json::str(retriever.vector_store(), a), a);
      if (!dense_unavailable.empty())
        out.AddMember("retrievalFallback", json::str(dense_unavailable, a), a);
    }
    return tool_output::success(json::dump(out));
  }
};

// One passage given to the extractive answerer: a chunk's text and where it came from.
struct rag_passage {
  std::string text;
  std::string source; // empty when the caller gave bare text
};

struct sentence {
  std::string text;   // as shown in the answer
  std::string title;  // "<name> — <heading>" line of its chunk, empty if none
  std::string source;
};

// Chunk texts start with a "<name> — <heading>" line (see chunk_product); that line tells
// which product a sentence is about but is not itself quoted.
std::vector<sentence> split_sentences(const rag_passage& p) {
  std::vector<sentence> out;
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= p.text.size()) {
    auto end = p.text.find('\n', start);
    if (end == std::string::npos)
      end = p.text.size();
    lines.push_back(p.text.substr(start, end - start));
    start = end + 1;
  }
  std::string title;
  if (lines.size() > 1 && lines[0].find(" — ") != std::string::npos) {
    title = trim(lines[0]);
    lines.erase(lines.begin());
  }
  for (auto line : lines) {
    line = trim(line);
    bool bullet = line.size() >= 2 && (line[0] == '-' || line[0] == '*') && line[1] == ' ';
    if (bullet)
      line = trim(line.substr(2));
    // A sentence ends at . ! or ? followed by a space: "1.3 kg" and "2.8K" stay whole.
    std::size_t from = 0;
    for (std::size_t i = 0; i <= line.size(); ++i) {
      bool boundary = i == line.size()
                      || ((line[i] == '.' || line[i] == '!' || line[i] == '?')
                          && (i + 1 == line.size() || line[i + 1] == ' '));
      if (!boundary)
        continue;
      std::string text = trim(line.substr(from, std::min(i + 1, line.size()) - from));
      from = i + 1;
      if (text.empty())
        continue;
      if (text.back() != '.' && text.back() != '!' && text.back() != '?')
        text += '.'; // bullets have no full stop; the answer reads as prose
      out.push_back(sentence{text, title, p.source});
    }
  }
  return out;
}

// The sentence as quoted, led by the name of the product it is about when it does not say it
// ("Storage: 128 GB." -> "Kestrel S5: Storage: 128 GB."): an answer that quotes several
// products, or one the question only described, must say which one each fact belongs to.
std::string naming_product(const sentence& s) {
  auto dash = s.title.find(" — ");
  std::string name = dash == std::string::npos ? std::string() : trim(s.title.substr(0, dash));
  if (name.empty() || core::lower(s.text).find(core::lower(name)) != std::string::npos)
    return s.text;
  return name + ": " + s.text;
}

// Reads the optional "context": chunk objects, strings, a getProductInformation result (its
// "chunks"), or one string. Fails, naming the offending item, on any other shape.
outcome<std::vector<rag_passage>> rag_context_passages(const json::value& context) {
  std::vector<rag_passage> out;
  auto from_item = [&](const json::value& item, const std::string& where) -> outcome<void> {
    if (item.IsString()) {
      out.push_back(rag_passage{std::string(item.GetString(), item.GetStringLength()), ""});
      return {};
    }
    auto text = json::get_string(item, "text");
    if (!text)
      return fail(where + " must be a chunk object with a 'text' string, or a string");
    out.push_back(rag_passage{*text, json::get_string(item, "source").value_or("")});
    return {};
  };

  const json::value* list = &context;
  if (context.IsObject() && context.HasMember("chunks"))
    list = &context["chunks"];
  if (list->IsArray()) {
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i)
      if (auto r = from_item((*list)[i], "context[" + std::to_string(i) + "]"); !r)
        return fail(r.error());
  } else if (list->IsString() || list->IsObject()) {
    if (auto r = from_item(*list, "context"); !r)
      return fail(r.error());
  } else if (!list->IsNull()) {
    return fail("context must be an array of chunks, a chunk object or a string");
  }
  // Blank text carries nothing; all-blank context means "retrieve it yourself".
  out.erase(std::remove_if(out.begin(), out.end(),
                           [](const rag_passage& p) { return trim(p.text).empty(); }),
            out.end());
  return out;
}

class rag_tool final : public catalog_tool {
 public:
  using catalog_tool::catalog_tool;
  std::string name() const override { return "ragGeneration"; }

 private:
  static constexpr std::size_t retrieved_chunks = 4;
  static constexpr std::size_t max_sentences = 3;
  static constexpr double title_weight = 0.3;     // the product/heading line only guides
  static constexpr double keep_fraction = 0.6;    // of the best sentence's score

  tool_output run(const product_retriever& retriever, const std::string& args_json) override {
    auto args = parse_query_args(args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    if (auto unknown = unknown_product(retriever, args->query))
      return tool_output::permanent_error(*unknown);

    std::vector<rag_passage> passages;
    if (auto it = args->doc.FindMember("context"); it != args->doc.MemberEnd()) {
      auto given = rag_context_passages(it->value);
      if (!given)
        return tool_output::permanent_error(given.error());
      passages = std::move(given.value());
    }
    if (passages.empty())
      for (const auto& hit : retriever.search(args->query, retrieved_chunks))
        passages.push_back(rag_passage{hit.passage.text, hit.passage.source});

    std::vector<sentence> sentences;
    for (const auto& p : passages)
      for (auto& s : split_sentences(p))
        sentences.push_back(std::move(s));

    // Own text decides relevance; the title line adds a little so that, of two equal
    // sentences, the one about the product the question names wins.
    core::bm25_index own_index, title_index;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "%06zu", i); // ties keep document order
      own_index.add(core::document{id, sentences[i].text, sentences[i].source, ""});
      title_index.add(core::document{id, sentences[i].title, sentences[i].source, ""});
    }
    own_index.build();
    title_index.build();

    // Words of the product names only say which product; when the query asks for more
    // ("battery", "price"), sentences that contain one of those other words come first, and
    // only when none does are sentences that merely name the product used.
    std::set<std::string> name_terms;
    for (const auto& s : sentences)
      for (auto& t : core::tokenize(s.title.substr(0, s.title.find(" — "))))
        name_terms.insert(std::move(t));
    std::set<std::string> content_terms;
    for (auto& t : core::tokenize(args->query))
      if (!name_terms.count(t))
        content_terms.insert(std::move(t));
    auto has_content_term = [&](const sentence& s) {
      for (const auto& t : core::tokenize(s.text))
        if (content_terms.count(t))
          return true;
      return false;
    };

    struct ranked {
      std::size_t index;
      double score;
    };
    std::vector<ranked> ranking, name_only;
    for (const auto& h : own_index.search(args->query, sentences.size())) {
      ranked r{h.doc, h.score + title_weight * title_index.score(args->query, h.doc)};
      if (content_terms.empty() || has_content_term(sentences[h.doc]))
        ranking.push_back(r);
      else
        name_only.push_back(r);
    }
    if (ranking.empty())
      ranking = std::move(name_only);
    if (ranking.empty())
      return tool_output::permanent_error("no passage answers '" + args->query + "'");
    std::stable_sort(ranking.begin(), ranking.end(), [](const ranked& x, const ranked& y) {
      if (x.score != y.score)
        return x.score > y.score;
      return x.index < y.index;
    });

    std::string answer;
    std::vector<std::string> citations;
    std::set<std::string> used_texts;
    std::size_t taken = 0;
    for (const auto& r : ranking) {
      if (taken == max_sentences || r.score < keep_fraction * ranking.front().score)
        break;
      const auto& s = sentences[r.index];
      if (!used_texts.insert(s.text).second)
        continue; // the same sentence from two copies of a chunk
      std::string cite = s.source.empty() ? "context" : s.source;
      answer += (answer.empty() ? "" : " ") + naming_product(s) + " [" + cite + "]";
      if (std::find(citations.begin(), citations.end(), cite) == citations.end())
        citations.push_back(cite);
      ++taken;
    }

    json::document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    out.AddMember("query", json::str(args->query, a), a);
    out.AddMember("answer", json::str(answer, a), a);
    json::value cites(rapidjson::kArrayType);
    for (const auto& c : citations)
      cites.PushBack(json::str(c, a), a);
    out.AddMember("citations", cites, a);
    out.AddMember("offline", true, a);
    out.AddMember("method", "extractive", a);
    return tool_output::success(json::dump(out));
  }
};

} // namespace

std::unique_ptr<tool> make_product_info_tool(const std::string& products_dir) {
  return std::make_unique<product_info_tool>(products_dir);
}

std::unique_ptr<tool> make_product_info_tool(std::shared_ptr<const product_retriever> retriever) {
  return std::make_unique<product_info_tool>(std::move(retriever));
}

std::unique_ptr<tool> make_offline_rag_tool(const std::string& products_dir) {
  return std::make_unique<rag_tool>(products_dir);
}

} // namespace eventide::providers
