#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "core/json.hpp"
#include "providers/catalog.hpp"
#include "providers/offline_tools.hpp"
#include "tests/providers/quality_figures.hpp"

using namespace eventide;
using namespace eventide::providers;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";

const product_retriever& shared_retriever() {
  static auto opened = product_retriever::open(products_dir);
  REQUIRE(opened.ok());
  return opened.value();
}

json::document parse_ok(const tool_output& out) {
  INFO(out.error);
  REQUIRE(out.ok);
  auto doc = json::parse(out.result_json);
  REQUIRE(doc.ok());
  return std::move(doc.value());
}

std::string text_at(const json::value& root, const char* path) {
  auto v = json::find_path(root, path);
  REQUIRE(v != nullptr);
  REQUIRE(v->IsString());
  return v->GetString();
}

double number_at(const json::value& root, const char* path) {
  auto v = json::find_path(root, path);
  REQUIRE(v != nullptr);
  REQUIRE(v->IsNumber());
  return v->GetDouble();
}

// A scratch products folder with the given files; removed when the test ends.
using file_list = std::vector<std::pair<std::string, std::string>>; // name, content

struct temp_catalog {
  std::filesystem::path dir;
  explicit temp_catalog(const file_list& files) {
    dir = std::filesystem::temp_directory_path()
          / ("eventide-catalog-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)))
          / "products";
    std::filesystem::create_directories(dir);
    for (const auto& [name, text] : files)
      std::ofstream(dir / name) << text;
  }
  ~temp_catalog() { std::filesystem::remove_all(dir.parent_path()); }
};

const std::string widget_md = "---\nid: widget\nname: Blue Widget\ncategory: gadget\n"
                              "price: 10.50\ncurrency: EUR\ncolour: blue\n---\n"
                              "# Blue Widget\nA small blue widget.\n";

} // namespace

TEST_CASE("catalog loads the bundled products", "[catalog]") {
  auto catalog = load_catalog(products_dir);
  INFO((catalog ? "" : catalog.error()));
  REQUIRE(catalog.ok());
  REQUIRE(catalog->size() >= 10);

  std::set<std::string> categories, currencies;
  for (const auto& p : *catalog) {
    categories.insert(p.category);
    currencies.insert(p.currency);
    CHECK(p.source == "products/" + p.id + ".md");
    CHECK(p.price > 0);
    CHECK_FALSE(p.body.empty());
  }
  for (const char* c : {"laptop", "phone", "headphones", "tablet", "smartwatch", "camera",
                        "monitor", "e-reader"})
    CHECK(categories.count(c) == 1);
  CHECK(currencies == std::set<std::string>{"EUR", "GBP", "USD"});

  // The planner matches names inside questions: no name may contain another.
  for (const auto& a : *catalog)
    for (const auto& b : *catalog)
      if (&a != &b)
        CHECK(a.name.find(b.name) == std::string::npos);
}

TEST_CASE("catalog parses front matter fields and facts in order", "[catalog]") {
  const auto& retriever = shared_retriever();
  const product* aurora = retriever.find("aurora-x1");
  const product* nimbus = retriever.find("nimbus-pro");
  REQUIRE(aurora != nullptr);
  REQUIRE(nimbus != nullptr);
  CHECK(aurora->name == "Aurora X1");
  CHECK(aurora->category == "laptop");
  CHECK(aurora->price == 1299.0);
  CHECK(aurora->currency == "USD");
  CHECK(aurora->source == "products/aurora-x1.md");
  using facts = std::vector<std::pair<std::string, std::string>>;
  CHECK(aurora->facts == facts{{"brand", "Aurora"}, {"battery", "14 hours"},
                               {"warranty", "2 years"}, {"weight", "1.3 kg"}});
  CHECK(aurora->body.rfind("# Aurora X1\n", 0) == 0);

  CHECK(nimbus->category == "laptop");
  CHECK(nimbus->price != aurora->price);
  CHECK(nimbus->facts[1] == std::make_pair(std::string("battery"), std::string("10 hours")));
  CHECK(retriever.find("no-such-product") == nullptr);
}

TEST_CASE("products are chunked into a facts chunk and one chunk per section", "[catalog]") {
  const product* aurora = shared_retriever().find("aurora-x1");
  REQUIRE(aurora != nullptr);
  auto chunks = chunk_product(*aurora);
  REQUIRE(chunks.size() == 4);
  CHECK(chunks[0].id == "aurora-x1#0");
  CHECK(chunks[0].text
        == "Aurora X1 — Key facts\nAurora X1 (laptop) costs 1299.00 USD. Brand: Aurora. "
           "Battery: 14 hours. Warranty: 2 years. Weight: 1.3 kg.");
  CHECK(chunks[1].text.rfind("Aurora X1 — Overview\nThe Aurora X1 is a thin and light 14-inch "
                             "ultrabook for people who work on the move. Its machined",
                             0)
        == 0);
  CHECK(chunks[2].text.rfind("Aurora X1 — Specs\n- Display: 14-inch 2880x1800 OLED", 0) == 0);
  CHECK(chunks[3].id == "aurora-x1#3");
  CHECK(chunks[3].text
        == "Aurora X1 — Battery and warranty\nThe Aurora X1 battery lasts up to 14 hours of web "
           "browsing on a single charge. Its 65 W USB-C charger refills the 70 Wh battery to 50 "
           "percent in 30 minutes. Every Aurora X1 comes with a 2-year limited warranty that "
           "covers parts and labour.");
  for (const auto& c : chunks) {
    CHECK(c.product_id == "aurora-x1");
    CHECK(c.source == "products/aurora-x1.md");
  }
  CHECK(format_price(1299) == "1299.00");
  CHECK(format_price(10.5) == "10.50");
}

TEST_CASE("parse_product names the file, line and rule of malformed front matter", "[catalog]") {
  auto error_of = [](const std::string& text) {
    auto p = parse_product(text, "products/widget.md", "widget");
    REQUIRE_FALSE(p.ok());
    return p.error();
  };
  auto good = parse_product(widget_md, "products/widget.md", "widget");
  REQUIRE(good.ok());
  CHECK(good->price == 10.5);
  CHECK(good->facts.size() == 1);
  CHECK(good->body == "# Blue Widget\nA small blue widget.");

  auto quoted = parse_product("---\nid: widget\nname: \"Blue: Widget\"\ncategory: 'gadget'\n"
                              "price: \"7\"\ncurrency: GBP\n---\n",
                              "products/widget.md", "widget");
  REQUIRE(quoted.ok());
  CHECK(quoted->name == "Blue: Widget");
  CHECK(quoted->category == "gadget");
  CHECK(quoted->price == 7.0);
  CHECK(quoted->body.empty());

  CHECK(error_of("# no front matter\n") == "products/widget.md:1: expected '---' to open the front matter");
  CHECK(error_of("---\nid: widget\nname: W\n") == "products/widget.md: front matter is not closed with '---'");
  CHECK(error_of("---\nid: widget\nname: W\ncategory: g\ncurrency: EUR\n---\n")
        == "products/widget.md: missing required field 'price'");
  CHECK(error_of("---\nid: widget\nname: W\ncategory: g\nprice: cheap\ncurrency: EUR\n---\n")
        == "products/widget.md:5: price 'cheap' is not a number (write it like 1299.00)");
  CHECK(error_of("---\nid: widget\nname: W\ncategory: g\nprice: -3\ncurrency: EUR\n---\n")
        == "products/widget.md:5: price '-3' is not a number (write it like 1299.00)");
  CHECK(error_of("---\nid: widget\nname: W\ncategory: g\nprice: 3\ncurrency: euro\n---\n")
        == "products/widget.md:6: currency 'euro' is not an ISO 4217 code like USD");
  CHECK(error_of("---\nid: widget\nname W\n---\n")
        == "products/widget.md:3: expected 'key: value' with a lowercase key, got 'name W'");
  CHECK(error_of("---\nid: widget\nname:\n---\n") == "products/widget.md:3: field 'name' has no value");
  CHECK(error_of("---\nid: widget\nid: widget\n---\n") == "products/widget.md:3: duplicate field 'id'");
  CHECK(error_of("---\nid: gadget\nname: W\ncategory: g\nprice: 3\ncurrency: EUR\n---\n")
        == "products/widget.md:2: id 'gadget' does not match the file name 'widget.md'");
}

TEST_CASE("load_catalog reports the malformed file and ignores README.md", "[catalog]") {
  {
    temp_catalog dir(file_list{{"widget.md", widget_md}, {"README.md", "# not a product\n"}});
    auto catalog = load_catalog(dir.dir.string());
    REQUIRE(catalog.ok());
    REQUIRE(catalog->size() == 1);
    CHECK(catalog->at(0).source == "products/widget.md");
  }
  {
    temp_catalog dir(file_list{{"widget.md", widget_md},
                      {"zz.md", "---\nid: zz\nname: Z\ncategory: g\nprice: 1,5\ncurrency: EUR\n---\n"}});
    auto catalog = load_catalog(dir.dir.string() + "/");
    REQUIRE_FALSE(catalog.ok());
    CHECK(catalog.error() == "products/zz.md:5: price '1,5' is not a number (write it like 1299.00)");
  }
  {
    temp_catalog dir(file_list{{"widget.md", widget_md},
                      {"widget-max.md", "---\nid: widget-max\nname: Blue Widget Max\ncategory: g\n"
                                        "price: 12\ncurrency: EUR\n---\nBigger.\n"}});
    auto catalog = load_catalog(dir.dir.string());
    REQUIRE_FALSE(catalog.ok());
    CHECK(catalog.error()
          == "products/widget-max.md: name 'Blue Widget Max' contains the name 'Blue Widget' of "
             "products/widget.md; product names must not contain each other");
  }
  {
    temp_catalog dir(file_list{{"README.md", "# only docs\n"}});
    auto catalog = load_catalog(dir.dir.string());
    REQUIRE_FALSE(catalog.ok());
    CHECK(catalog.error().find("has no product files") != std::string::npos);
  }
  auto missing = load_catalog("/nonexistent/eventide/products");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error()
        == "product folder '/nonexistent/eventide/products' does not exist or is not a folder");
}

TEST_CASE("best_product top-1 accuracy per split (tune, heldout) equals the reported figures", "[catalog][quality]") {
  std::ifstream in(EVENTIDE_FIXTURES "/retrieval_questions.json");
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = json::parse(text);
  REQUIRE(doc.ok());
  REQUIRE(doc->IsArray());

  const auto& retriever = shared_retriever();
  std::map<std::string, int> total, correct;
  for (const auto& item : doc->GetArray()) {
    auto question = json::get_string(item, "question");
    auto expected = json::get_string(item, "product");
    auto split = json::get_string(item, "split");
    REQUIRE(question);
    REQUIRE(expected);
    REQUIRE(split);
    REQUIRE(retriever.find(*expected) != nullptr); // labels must name real products
    ++total[*split];
    auto best = retriever.best_product(*question);
    std::string got = best ? best->item->id : "(none)";
    if (got == *expected)
      ++correct[*split];
    else
      std::cout << "retrieval miss [" << *split << "]: '" << *question << "' -> " << got
                << ", expected " << *expected << "\n";
  }
  std::cout << "best_product top-1 (BM25): tune " << correct["tune"] << "/" << total["tune"]
            << ", heldout " << correct["heldout"] << "/" << total["heldout"] << "\n";
  CHECK(total["tune"] == quality::retrieval_tune_total);
  CHECK(total["heldout"] == quality::retrieval_heldout_total);
  CHECK(correct["tune"] == quality::bm25_tune_top1);
  CHECK(correct["heldout"] == quality::bm25_heldout_top1);
}

TEST_CASE("best_product lets a named product win over matching specs", "[catalog]") {
  const auto& retriever = shared_retriever();
  // "14 hours" and "OLED" describe the Aurora X1, but the question names the Nimbus Pro.
  auto best = retriever.best_product("Nimbus Pro 14 hours OLED Aurora Silicon");
  REQUIRE(best);
  CHECK(best->item->id == "nimbus-pro");
  CHECK(best->name_in_query);

  auto by_specs = retriever.best_product("14 hours OLED Aurora Silicon");
  REQUIRE(by_specs);
  CHECK(by_specs->item->id == "aurora-x1");
  CHECK_FALSE(by_specs->name_in_query);

  CHECK_FALSE(retriever.best_product("qwxz vbnm").has_value());
  CHECK_FALSE(retriever.best_product("what is the").has_value());

  auto chunks = retriever.search("Aurora X1 battery", 3);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].score >= chunks[1].score);
  CHECK(chunks[1].score >= chunks[2].score);
  CHECK(chunks[0].passage.product_id == "aurora-x1");
}

TEST_CASE("getProductInformation returns the best product and scored chunks", "[tools]") {
  auto tool = make_product_info_tool(products_dir);
  CHECK(tool->name() == "getProductInformation");
  auto out = tool->invoke(R"({"query":"Aurora X1 laptop price"})");
  auto doc = parse_ok(out);
  CHECK(text_at(doc, "query") == "Aurora X1 laptop price");
  CHECK(text_at(doc, "name") == "Aurora X1");
  CHECK(number_at(doc, "price") == 1299.0);
  CHECK(text_at(doc, "currency") == "USD");
  CHECK(text_at(doc, "category") == "laptop");
  CHECK(text_at(doc, "source") == "products/aurora-x1.md");
  CHECK(text_at(doc, "product.id") == "aurora-x1");
  CHECK(text_at(doc, "product.name") == "Aurora X1");
  CHECK(number_at(doc, "product.price") == 1299.0);
  CHECK(text_at(doc, "product.facts.battery") == "14 hours");
  CHECK(text_at(doc, "product.facts.warranty") == "2 years");
  CHECK(json::get_bool(doc, "offline") == true);
  CHECK(text_at(doc, "retrieval") == "bm25");

  const auto* chunks = json::find_path(doc, "chunks");
  REQUIRE(chunks != nullptr);
  REQUIRE(chunks->IsArray());
  REQUIRE(chunks->Size() == 3); // default topK
  CHECK(text_at(doc, "chunks[0].id") == "aurora-x1#0");
  CHECK(text_at(doc, "chunks[0].source") == "products/aurora-x1.md");
  CHECK(text_at(doc, "chunks[0].text").rfind("Aurora X1 — Key facts\n", 0) == 0);
  CHECK(number_at(doc, "chunks[0].score") >= number_at(doc, "chunks[1].score"));
  CHECK(number_at(doc, "chunks[1].score") >= number_at(doc, "chunks[2].score"));
  CHECK(number_at(doc, "chunks[2].score") > 0);

  // Deterministic: the same question gives the same bytes.
  CHECK(tool->invoke(R"({"query":"Aurora X1 laptop price"})").result_json == out.result_json);

  auto one = parse_ok(tool->invoke(R"({"query":"Kestrel S5 price","topK":1})"));
  CHECK(text_at(one, "name") == "Kestrel S5");
  CHECK(number_at(one, "price") == 649.0);
  CHECK(text_at(one, "currency") == "EUR");
  CHECK(json::find_path(one, "chunks")->Size() == 1);
  auto ten = parse_ok(tool->invoke(R"({"query":"battery","topK":10.0})"));
  CHECK(json::find_path(ten, "chunks")->Size() == 10);
}

TEST_CASE("getProductInformation rejects bad args and unmatched queries", "[tools]") {
  auto tool = make_product_info_tool(products_dir);
  auto error_of = [&](const std::string& args) {
    auto out = tool->invoke(args);
    REQUIRE_FALSE(out.ok);
    CHECK_FALSE(out.retryable);
    return out.error;
  };
  CHECK(error_of(R"({})") == "missing required string arg 'query'");
  CHECK(error_of(R"({"query":42})") == "missing required string arg 'query'");
  CHECK(error_of(R"({"query":"   "})") == "missing required string arg 'query'");
  CHECK(error_of(R"(["Aurora X1"])") == "args must be a JSON object");
  CHECK(error_of(R"({"query":)").rfind("args are not valid JSON: ", 0) == 0);
  for (const char* k : {"0", "11", "2.5", "\"3\"", "-1", "null"})
    CHECK(error_of(std::string(R"({"query":"Aurora X1","topK":)") + k + "}")
          == "topK must be an integer from 1 to 10");
  CHECK(error_of(R"({"query":"qwxz vbnm"})") == "no product matches 'qwxz vbnm'");
}

TEST_CASE("catalog tools say a product is unknown instead of answering for another", "[tools]") {
  auto info = make_product_info_tool(products_dir);
  auto rag = make_offline_rag_tool(products_dir);
  auto error_of = [](tool& t, const std::string& args) {
    auto out = t.invoke(args);
    INFO(out.result_json);
    REQUIRE_FALSE(out.ok);
    CHECK_FALSE(out.retryable);
    return out.error;
  };
  CHECK(error_of(*info, R"({"query":"Aurora X2 price"})")
        == "unknown product 'Aurora X2'; nearest known: Aurora X1");
  CHECK(error_of(*info, R"({"query":"Nimbus Max","topK":3})")
        == "unknown product 'Nimbus Max'; nearest known: Nimbus Pro");
  CHECK(error_of(*info, R"({"query":"How much do the Tidal Buds 3 cost?"})")
        == "unknown product 'Tidal Buds 3'; nearest known: Tidal Buds");
  CHECK(error_of(*rag, R"({"query":"What is the battery life of the Zephyr Phone 9?"})")
        == "unknown product 'Zephyr Phone 9'; nearest known: Zephyr Phone 8");
  // Catalog names, and questions naming none, still answer.
  CHECK(text_at(parse_ok(info->invoke(R"({"query":"Aurora X1 price"})")), "name") == "Aurora X1");
  CHECK(text_at(parse_ok(info->invoke(R"({"query":"Slate Tab 11 price"})")), "name") == "Slate Tab 11");
  parse_ok(info->invoke(R"({"query":"Which laptop has the longest battery?","topK":5})"));
}

TEST_CASE("ragGeneration answers extractively with citations", "[tools]") {
  auto rag = make_offline_rag_tool(products_dir);
  CHECK(rag->name() == "ragGeneration");
  const std::string battery_sentence =
      "The Aurora X1 battery lasts up to 14 hours of web browsing on a single charge. "
      "[products/aurora-x1.md]";

  auto doc = parse_ok(rag->invoke(R"({"query":"What is the battery life of the Aurora X1?"})"));
  CHECK(text_at(doc, "answer").find(battery_sentence) != std::string::npos);
  CHECK(text_at(doc, "answer").find("Nimbus") == std::string::npos);
  const auto* citations = json::find_path(doc, "citations");
  REQUIRE(citations != nullptr);
  REQUIRE(citations->Size() == 1);
  CHECK(text_at(doc, "citations[0]") == "products/aurora-x1.md");
  CHECK(json::get_bool(doc, "offline") == true);
  CHECK(text_at(doc, "method") == "extractive");

  auto warranty = parse_ok(rag->invoke(R"({"query":"What warranty does the Clarity 27Q have?"})"));
  CHECK(text_at(warranty, "answer")
        == "The Clarity 27Q has a 3-year warranty with a zero dead pixel guarantee. "
           "[products/clarity-27q.md]");

  // A quoted sentence that does not name its product is led by the product's name.
  auto storage = parse_ok(rag->invoke(R"({"query":"Can I expand the storage on the Kestrel S5?"})"));
  CHECK(text_at(storage, "answer")
        == "Kestrel S5: Storage: 128 GB. [products/kestrel-s5.md] Kestrel S5: Storage: 128 GB, "
           "expandable with microSD up to 1 TB. [products/kestrel-s5.md]");

  // Same input, same bytes.
  auto again = rag->invoke(R"({"query":"What is the battery life of the Aurora X1?"})");
  CHECK(again.result_json == json::dump(doc));
}

TEST_CASE("ragGeneration uses given context in every accepted shape", "[tools]") {
  auto info = make_product_info_tool(products_dir);
  auto rag = make_offline_rag_tool(products_dir);
  auto found = parse_ok(info->invoke(R"({"query":"Aurora X1 battery","topK":3})"));
  const std::string query = R"("query":"What is the battery life of the Aurora X1?")";
  const std::string expected_start =
      "The Aurora X1 battery lasts up to 14 hours of web browsing on a single charge. "
      "[products/aurora-x1.md]";

  // The chunks array, as a placeholder {{steps.s1.result.chunks}} would resolve it.
  auto from_chunks = parse_ok(rag->invoke("{" + query + R"(,"context":)"
                                          + json::dump(*json::find_path(found, "chunks")) + "}"));
  CHECK(text_at(from_chunks, "answer").rfind(expected_start, 0) == 0);
  CHECK(text_at(from_chunks, "citations[0]") == "products/aurora-x1.md");

  // The whole getProductInformation result ({{steps.s1.result}}).
  auto from_result = parse_ok(rag->invoke("{" + query + R"(,"context":)" + json::dump(found) + "}"));
  CHECK(text_at(from_result, "answer") == text_at(from_chunks, "answer"));

  // Bare text has no source: cited as [context].
  auto from_text = parse_ok(rag->invoke(
      R"({"query":"What colour is grass?","context":"The sky is blue. Grass is green! Snow is white."})"));
  CHECK(text_at(from_text, "answer") == "Grass is green! [context]");
  CHECK(text_at(from_text, "citations[0]") == "context");

  // Context sentences are the only candidates: the catalog is not consulted.
  auto only_context = parse_ok(rag->invoke(
      R"({"query":"Aurora X1 battery","context":[{"text":"Battery: lasts a week.","source":"notes.md"}]})"));
  CHECK(text_at(only_context, "answer") == "Battery: lasts a week. [notes.md]");

  // Empty context means "retrieve it yourself".
  auto empty = parse_ok(rag->invoke("{" + query + R"(,"context":[]})"));
  CHECK(text_at(empty, "answer").rfind(expected_start, 0) == 0);
}

TEST_CASE("ragGeneration rejects bad args", "[tools]") {
  auto rag = make_offline_rag_tool(products_dir);
  auto error_of = [&](const std::string& args) {
    auto out = rag->invoke(args);
    REQUIRE_FALSE(out.ok);
    CHECK_FALSE(out.retryable);
    return out.error;
  };
  CHECK(error_of(R"({"context":"text"})") == "missing required string arg 'query'");
  CHECK(error_of(R"({"query":"Aurora X1","context":42})")
        == "context must be an array of chunks, a chunk object or a string");
  CHECK(error_of(R"({"query":"Aurora X1","context":[{"text":"ok"},7]})")
        == "context[1] must be a chunk object with a 'text' string, or a string");
  CHECK(error_of(R"({"query":"qwxz vbnm"})") == "no passage answers 'qwxz vbnm'");
  CHECK(error_of(R"({"query":"qwxz","context":"The sky is blue."})") == "no passage answers 'qwxz'");
}

TEST_CASE("catalog tools report a catalog that cannot load on every invoke", "[tools]") {
  temp_catalog broken(file_list{{"bad.md", "---\nid: bad\n---\n"}});
  std::vector<std::unique_ptr<tool>> tools;
  tools.push_back(make_product_info_tool(broken.dir.string()));
  tools.push_back(make_offline_rag_tool(broken.dir.string()));
  for (auto& tool : tools) {
    for (int i = 0; i < 2; ++i) {
      auto out = tool->invoke(R"({"query":"Aurora X1"})");
      REQUIRE_FALSE(out.ok);
      CHECK_FALSE(out.retryable);
      CHECK(out.error == "product catalog unavailable: products/bad.md: missing required field 'name'");
    }
  }
}
