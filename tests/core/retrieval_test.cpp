#include <catch2/catch.hpp>

#include <cmath>

#include "core/retrieval.hpp"

using namespace eventide::core;
using strings = std::vector<std::string>;

namespace {

std::vector<std::string> ids_of(const bm25_index& index, const std::vector<hit>& hits) {
  std::vector<std::string> ids;
  for (const auto& h : hits)
    ids.push_back(index.doc(h.doc).id);
  return ids;
}

// a: red apple, b: green apple apple, c: red cherry  (N = 3, avgdl = 7/3)
bm25_index fruit_index() {
  bm25_index index;
  index.add({"a", "Red apple", "fruit.md", ""});
  index.add({"b", "green APPLE, apple", "fruit.md", ""});
  index.add({"c", "red cherry", "fruit.md", "cherry"});
  index.build();
  return index;
}

} // namespace

TEST_CASE("tokenize lowercases, splits on non-alphanumerics and keeps numbers", "[retrieval]") {
  CHECK(tokenize("Aurora X1: 1299.00 USD, 14-inch!") == strings{"aurora", "x1", "1299", "00", "usd", "14", "inch"});
  CHECK(tokenize("") == strings{});
  CHECK(tokenize("  --  ") == strings{});
}

TEST_CASE("tokenize drops stopwords", "[retrieval]") {
  CHECK(tokenize("What is the battery life of the Aurora X1?") == strings{"battery", "life", "aurora", "x1"});
  CHECK(tokenize("How much does it cost?") == strings{"price"});
  CHECK(tokenize("the of and a") == strings{});
  CHECK(is_stopword("the"));
  CHECK(is_stopword("a"));
  CHECK(is_stopword("you"));
  CHECK_FALSE(is_stopword("battery"));
  CHECK_FALSE(is_stopword("price"));
}

TEST_CASE("stem folds plurals but leaves model names and non-plurals alone", "[retrieval]") {
  CHECK(stem("hours") == "hour");
  CHECK(stem("headphones") == "headphone");
  CHECK(stem("batteries") == "battery");
  CHECK(stem("watches") == "watch");
  CHECK(stem("glasses") == "glass");
  CHECK(stem("boxes") == "box");
  CHECK(stem("glass") == "glass");
  CHECK(stem("status") == "status");
  CHECK(stem("chassis") == "chassis");
  CHECK(stem("gps") == "gps"); // too short to be sure it is a plural
  CHECK(stem("s5") == "s5");
  CHECK(stem("4ks") == "4ks");
  CHECK(tokenize("Batteries last hours") == strings{"battery", "last", "hour"});
  CHECK(tokenize("battery lasts an hour") == strings{"battery", "last", "hour"});
}

TEST_CASE("tokenize folds catalog synonyms onto one word", "[retrieval]") {
  CHECK(tokenize("costs cost priced price") == strings{"price", "price", "price", "price"});
  CHECK(tokenize("How heavy is it, what does it weigh, weighs, weight")
        == strings{"weight", "weight", "weight", "weight"});
  CHECK(tokenize("costly pricey") == strings{"costly", "pricey"});
}

TEST_CASE("bm25 score matches a hand computation", "[retrieval]") {
  auto index = fruit_index();
  // idf(apple) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln 1.6
  // a: tf 1, dl 2 -> ln1.6 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2 / (7/3)))
  // b: tf 2, dl 3 -> ln1.6 * 4.4 / (2 + 1.2 * (0.25 + 0.75 * 3 / (7/3)))
  CHECK(index.score("apple", 0) == Approx(0.4991762683023676).epsilon(1e-12));
  CHECK(index.score("apple", 1) == Approx(0.5981864372218454).epsilon(1e-12));
  CHECK(index.score("apple", 2) == 0);
  CHECK(index.score("apple", 99) == 0);
  // A repeated query term counts once.
  CHECK(index.score("apple apple apples", 0) == Approx(0.4991762683023676).epsilon(1e-12));
  CHECK(index.score("red apple", 0) == Approx(0.9983525366047352).epsilon(1e-12));
}

TEST_CASE("bm25 search ranks by score, drops zero scores and honours top_k", "[retrieval]") {
  auto index = fruit_index();
  auto hits = index.search("apple", 10);
  REQUIRE(ids_of(index, hits) == strings{"b", "a"});
  CHECK(hits[0].score == Approx(0.5981864372218454).epsilon(1e-12));
  CHECK(hits[1].score == Approx(0.4991762683023676).epsilon(1e-12));

  CHECK(ids_of(index, index.search("red apple", 10)) == strings{"a", "b", "c"});
  CHECK(ids_of(index, index.search("red apple", 2)) == strings{"a", "b"});
  CHECK(index.search("red apple", 0).empty());
  CHECK(index.search("durian", 10).empty());
  CHECK(index.search("the of", 10).empty());
  CHECK(index.doc(2).product_id == "cherry");
  CHECK(index.size() == 3);
}

TEST_CASE("bm25 breaks score ties by document id, then insertion order", "[retrieval]") {
  bm25_index index;
  index.add({"zeta", "blue sky", "", ""});
  index.add({"alpha", "blue sky", "", ""});
  index.add({"alpha", "blue sky", "", ""});
  index.add({"mid", "grey sky", "", ""});
  index.build();
  auto hits = index.search("blue", 10);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].doc == 1);
  CHECK(hits[1].doc == 2);
  CHECK(hits[2].doc == 0);
  CHECK(hits[0].score == hits[2].score);
}

TEST_CASE("bm25 only searches documents present at the last build", "[retrieval]") {
  bm25_index index;
  index.add({"a", "solar panel", "", ""});
  CHECK(index.search("solar", 5).empty()); // not built yet
  index.build();
  REQUIRE(index.search("solar", 5).size() == 1);
  index.add({"b", "solar lamp", "", ""});
  CHECK(index.search("lamp", 5).empty());
  index.build();
  CHECK(ids_of(index, index.search("solar lamp", 5)) == strings{"b", "a"});
}

TEST_CASE("bm25 is deterministic across identical indexes", "[retrieval]") {
  auto first = fruit_index();
  auto second = fruit_index();
  auto x = first.search("red green apple cherry", 10);
  auto y = second.search("red green apple cherry", 10);
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i].doc == y[i].doc);
    CHECK(x[i].score == y[i].score);
  }
}
