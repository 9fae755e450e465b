// The offline rule-based planner: a small grammar of intents and slots. It finds the slots of a
// question (catalog products, or products described in the catalog's own words; currencies and
// amounts; cities and dates; quantities, discounts and taxes; arithmetic) with word-bounded
// phrase matching and a few regular expressions, reads them as intents (see "the grammar"
// below), and turns each intent into steps in the order the question states them. Independent
// intents have no dependencies, so they run in parallel. The catalog vocabulary comes from the
// planner_context (load_planner_context), never from lists written for one catalog.
#include "providers/planner.hpp"
#include "providers/plan_builder.hpp"
#include "providers/plan_order.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <variant>

#include "core/entity_names.hpp"
#include "core/json.hpp"
#include "core/plan.hpp"
#include "providers/catalog.hpp"

namespace eventide::providers {

using core::lower;
using core::trim;

namespace {

// --- text helpers -------------------------------------------------------------------------

std::string collapse_spaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (out.empty() || out.back() == ' '))
      continue;
    out += space ? ' ' : c;
  }
  return trim(out);
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Occurrences of `needle` in `hay` (both lower case) that are whole words: an alphanumeric end
// of the needle must not continue into a letter or digit of the text.
std::vector<size_t> find_words(const std::string& hay, const std::string& needle) {
  std::vector<size_t> hits;
  if (needle.empty())
    return hits;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    size_t end = pos + needle.size();
    bool left_ok = !is_alnum(needle.front()) || pos == 0 || !is_alnum(hay[pos - 1]);
    bool right_ok = !is_alnum(needle.back()) || end == hay.size() || !is_alnum(hay[end]);
    if (left_ok && right_ok)
      hits.push_back(pos);
  }
  return hits;
}

bool contains_word(const std::string& hay, const std::string& needle) {
  return !find_words(hay, needle).empty();
}

bool matches(const std::string& text, const std::regex& re) { return std::regex_search(text, re); }

// Whole-word alternatives; matching is a substring search per word, ~100x cheaper than the
// equivalent "\\b(a|b|...)\\b" std::regex (which dominated planning time).
struct word_list {
  std::vector<std::string> words;
};

bool matches(const std::string& text, const word_list& list) {
  for (const auto& w : list.words)
    if (contains_word(text, w))
      return true;
  return false;
}

std::optional<double> parse_number(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  if (s.empty())
    return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(d))
    return std::nullopt;
  return d;
}

// The word right before `pos` ("in" for "... in EUR").
std::string word_before(const std::string& low, size_t pos) {
  size_t end = pos;
  while (end > 0 && low[end - 1] == ' ')
    --end;
  size_t begin = end;
  while (begin > 0 && is_alnum(low[begin - 1]))
    --begin;
  return low.substr(begin, end - begin);
}

struct mention {
  size_t begin = 0;
  size_t end = 0;
  std::string value; // canonical: catalog name, ISO code or city name
};

// Marks taken character ranges so a longer phrase wins over the shorter ones inside it.
class coverage {
 public:
  explicit coverage(size_t n) : taken_(n, false) {}
  bool free(size_t b, size_t e) const {
    return std::none_of(taken_.begin() + b, taken_.begin() + e, [](bool t) { return t; });
  }
  void take(size_t b, size_t e) { std::fill(taken_.begin() + b, taken_.begin() + e, true); }

 private:
  std::vector<bool> taken_;
};

struct phrase {
  std::string text; // lower case
  std::string value;
};

// Longest phrases first, each occurrence only where nothing longer matched already.
std::vector<mention> find_phrases(const std::string& low, std::vector<phrase> phrases, coverage& cov) {
  std::stable_sort(phrases.begin(), phrases.end(),
                   [](const phrase& a, const phrase& b) { return a.text.size() > b.text.size(); });
  std::vector<mention> found;
  for (auto& p : phrases)
    for (size_t pos : find_words(low, p.text))
      if (cov.free(pos, pos + p.text.size())) {
        cov.take(pos, pos + p.text.size());
        found.push_back({pos, pos + p.text.size(), p.value});
      }
  std::sort(found.begin(), found.end(),
            [](const mention& a, const mention& b) { return a.begin < b.begin; });
  return found;
}

// --- vocabularies ---------------------------------------------------------------------------

// ISO codes written as a word. Only codes that are not English words, so "usd" works too.
const std::vector<std::string>& iso_codes() {
  static const std::vector<std::string> codes = {
      "EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "INR", "SEK", "NOK", "DKK", "PLN",
      "NZD", "SGD", "HKD", "KRW", "MXN", "BRL", "ZAR", "CZK", "HUF", "THB", "ILS"};
  return codes;
}

std::vector<phrase> currency_phrases() {
  std::vector<phrase> p = {
      {"us dollars", "USD"}, {"us dollar", "USD"}, {"u.s. dollars", "USD"},
      {"american dollars", "USD"}, {"dollars", "USD"}, {"dollar", "USD"}, {"bucks", "USD"},
      {"canadian dollars", "CAD"}, {"canadian dollar", "CAD"}, {"australian dollars", "AUD"},
      {"australian dollar", "AUD"}, {"new zealand dollars", "NZD"}, {"new zealand dollar", "NZD"},
      {"singapore dollars", "SGD"}, {"singapore dollar", "SGD"}, {"hong kong dollars", "HKD"},
      {"hong kong dollar", "HKD"}, {"euros", "EUR"}, {"euro", "EUR"}, {"british pounds", "GBP"},
      {"british pound", "GBP"}, {"pounds sterling", "GBP"}, {"pound sterling", "GBP"},
      {"sterling", "GBP"}, {"pounds", "GBP"}, {"pound", "GBP"}, {"japanese yen", "JPY"},
      {"yen", "JPY"}, {"swiss francs", "CHF"}, {"swiss franc", "CHF"}, {"francs", "CHF"},
      {"franc", "CHF"}, {"chinese yuan", "CNY"}, {"yuan", "CNY"}, {"renminbi", "CNY"},
      {"rmb", "CNY"}, {"indian rupees", "INR"}, {"indian rupee", "INR"}, {"rupees", "INR"},
      {"rupee", "INR"}, {"swedish kronor", "SEK"}, {"swedish krona", "SEK"}, {"kronor", "SEK"},
      {"krona", "SEK"}, {"norwegian kroner", "NOK"}, {"norwegian krone", "NOK"},
      {"danish kroner", "DKK"}, {"danish krone", "DKK"}, {"zloty", "PLN"}, {"zlotys", "PLN"},
      {"korean won", "KRW"}, {"mexican pesos", "MXN"}, {"mexican peso", "MXN"}, {"pesos", "MXN"},
      {"peso", "MXN"}, {"brazilian reais", "BRL"}, {"brazilian real", "BRL"}, {"reais", "BRL"},
      {"south african rand", "ZAR"}, {"rand", "ZAR"},
      {"$", "USD"}, {"€", "EUR"}, {"£", "GBP"}, {"¥", "JPY"}};
  for (auto& code : iso_codes())
    p.push_back({lower(code), code});
  return p;
}

// The cities of config/weather-sample.json (the planner must not read files).
const std::vector<std::string>& known_cities() {
  static const std::vector<std::string> cities = {
      "Berlin", "Paris", "London", "Madrid", "Rome", "Amsterdam", "Vienna", "Zurich", "Stockholm",
      "New York", "San Francisco", "Toronto", "Tokyo", "Singapore", "Sydney", "Dubai", "Mumbai",
      "Beijing"};
  return cities;
}

std::vector<phrase> city_phrases() {
  std::vector<phrase> p;
  for (auto& c : known_cities())
    p.push_back({lower(c), c});
  p.push_back({"nyc", "New York"});
  p.push_back({"zürich", "Zurich"});
  return p;
}

const word_list& weather_words() {
  static const word_list list{{
      "weather", "temperature", "temperatures", "forecast", "rain", "raining", "rainy", "sunny",
      "snow", "snowing", "humid", "humidity", "wind", "windy", "cloudy", "degrees", "hot",
      "cold", "warm", "chilly"}};
  return list;
}

const word_list& summary_words() {
  static const word_list list{{
      "summary", "summarize", "summarise", "overview", "recap", "sum up", "brief me"}};
  return list;
}

const word_list& exchange_words() {
  static const word_list list{{
      "exchange", "rate", "rates", "convert", "conversion", "worth"}};
  return list;
}

const word_list& price_words() {
  static const word_list list{{
      "price", "prices", "priced", "pricing", "cost", "costs", "costing", "expensive", "cheap",
      "cheaper", "pricier", "pay", "msrp", "afford", "sell for", "sells for", "selling for",
      "retail"}};
  return list;
}

// "how much" asks for a price unless it is about something measurable.
const word_list& non_price_amounts() {
  static const word_list list{{
      "weigh", "weighs", "weight", "heavy", "battery", "storage", "memory", "ram", "space",
      "power", "charge", "charging", "screen", "data", "time", "long", "big", "large"}};
  return list;
}

const std::regex& price_comparison_words() {
  static const std::regex re(
      "\\bcompare\\b.*\\bprices?\\b|\\bprices?\\b.*\\bcompare|\\bprice (difference|gap)\\b|"
      "\\bdifference in (price|cost)\\b|\\b(more|less) expensive\\b|\\bcheaper\\b|\\bpricier\\b|"
      "\\bcosts? (more|less)\\b|\\bhow much more\\b|\\bhow much less\\b");
  return re;
}

// "Which is cheaper ... and what does that one cost": a choice by price, then a question about
// the one chosen.
const std::regex& choice_words() {
  static const std::regex re(
      "\\b(cheaper|cheapest|less expensive|least expensive|more expensive|most expensive|pricier|"
      "priciest)\\b");
  return re;
}
const std::regex& chosen_one_words() {
  static const std::regex re(
      "\\b(that one|this one|the one|that product|the winner|the cheaper one|the cheaper|"
      "the cheapest|the pricier one|the more expensive one|does it|is it|it cost|it costs?)\\b");
  return re;
}

const word_list& comparison_words() {
  static const word_list list{{
      "compare", "comparison", "versus", "vs", "better", "worse", "best", "difference",
      "differences", "differ", "which", "or"}};
  return list;
}

// Shop language that is about a catalog whatever it sells ("do you sell e-bikes?"). The
// catalog's own words come from the planner_context (see catalog_evidence).
const word_list& shop_words() {
  static const word_list list{{
      "product", "products", "catalog", "catalogue", "sell", "stock", "offer", "gear",
      "recommend", "recommendation", "suggest"}};
  return list;
}

// A need phrased without naming a product ("what should I take camping", "I need a ..."): one
// catalog word after it is enough.
const word_list& need_words() {
  static const word_list list{{
      "need", "take", "bring", "pack", "looking for", "want", "should i", "do you have",
      "good for", "best for"}};
  return list;
}

// Arithmetic in words: never a description of a product ("6 times 7").
const word_list& math_words() {
  static const word_list list{{
      "plus", "minus", "times", "multiplied", "divided", "over", "squared", "cubed", "root",
      "sum", "difference", "power", "raised", "percent", "modulo", "mod", "calculate",
      "compute", "evaluate", "solve", "sqrt", "log", "logarithm", "half", "double", "total"}};
  return list;
}

// Words that say nothing about what a question is about: function words, pronouns, question
// words, politeness and vague adjectives. They never count as catalog words, even when a
// product description uses them.
const std::set<std::string>& topicless_words() {
  static const std::set<std::string> words = {
      "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
      "because", "been", "before", "being", "best", "better", "both", "but", "by", "can", "come",
      "comes", "could", "day", "did", "do", "does", "doing", "done", "each", "even", "every",
      "few", "for", "from", "get", "gets", "give", "go", "goes", "going", "good", "great", "had",
      "has", "have", "having", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into",
      "is", "it", "its", "just", "keep", "keeps", "kind", "know", "let", "lets", "like", "little",
      "look", "lot", "lots", "made", "make", "makes", "many", "may", "me", "might", "more",
      "most", "much", "must", "my", "need", "new", "nice", "no", "not", "now", "of", "off", "on",
      "one", "only", "or", "other", "our", "out", "over", "own", "people", "please", "put",
      "really", "right", "same", "say", "see", "she", "should", "show", "so", "some",
      "something", "such", "take", "takes", "tell", "than", "thank", "thanks", "that", "the",
      "their", "them", "then", "there", "these", "they", "thing", "things", "think", "this",
      "those", "through", "to", "too", "two", "up", "us", "use", "used", "very", "want", "was",
      "way", "we", "well", "were", "what", "whats", "when", "where", "which", "while", "who",
      "whole", "why", "will", "with", "without", "work", "works", "would", "yes", "yet", "you",
      "your", "yours"};
  return words;
}

// Words that carry no topic when a comparison query is narrowed to one product.
const std::set<std::string>& comparison_stopwords() {
  static const std::set<std::string> words = {
      "the", "a", "an", "and", "or", "vs", "versus", "compare", "comparison", "which", "has",
      "have", "is", "are", "does", "do", "of", "to", "between", "with", "what", "better", "worse",
      "than", "more", "less", "one", "me", "tell", "about", "how", "it", "they", "their", "its",
      "in", "on", "for", "please", "can", "you", "differ", "difference", "differences", "best"};
  return words;
}

// --- plan building --------------------------------------------------------------------------

// --- arithmetic -----------------------------------------------------------------------------

// Replaces "<phrase> of <operand>" by fn(operand); the operand is a number or a (group).
std::string rewrite_function_phrases(std::string s) {
  static const std::vector<std::pair<std::string, std::string>> phrases = {
      {"square root of", "sqrt"},     {"sqrt of", "sqrt"},          {"cube root of", "cbrt"},
      {"absolute value of", "abs"},   {"natural logarithm of", "ln"}, {"natural log of", "ln"},
      {"logarithm of", "log"},        {"log of", "log"},            {"ln of", "ln"},
      {"exponential of", "exp"},      {"exp of", "exp"},            {"floor of", "floor"},
      {"ceiling of", "ceil"},         {"ceil of", "ceil"},          {"rounded value of", "round"}};
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto& [text, fn] : phrases) {
      auto hits = find_words(s, text);
      if (hits.empty())
        continue;
      size_t at = hits.front();
      size_t i = at + text.size();
      while (i < s.size() && s[i] == ' ')
        ++i;
      if (s.compare(i, 4, "the ") == 0)
        i += 4;
      size_t start = i;
      if (i < s.size() && s[i] == '(') {
        int depth = 0;
        for (; i < s.size(); ++i) {
          depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
          if (depth == 0)
            break;
        }
        if (i == s.size())
          return s; // unbalanced: leave it for validation to reject
        ++i;
      } else {
        if (i < s.size() && s[i] == '-')
          ++i;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
          ++i;
        if (i == start || (i == start + 1 && s[start] == '-'))
          return s; // no operand
      }
      std::string operand = s.substr(start, i - start);
      if (operand.front() == '(')
        operand = operand.substr(1, operand.size() - 2);
      std::string call = fn == "cbrt" ? "(" + operand + ")^(1/3)" : fn + "(" + operand + ")";
      s = s.substr(0, at) + call + s.substr(i);
      changed = true;
    }
  }
  return s;
}

// True when `s` is only numbers, operators, parentheses and known functions/constants, with at
// least one number and one operation.
bool looks_like_expression(const std::string& s) {
  static const std::set<std::string> names = {"sqrt", "abs", "min", "max", "round", "floor",
                                              "ceil", "ln", "log", "exp", "pow", "pi", "e"};
  bool operand = false;
  bool operation = false;
  bool seen_operand_before = false;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      operand = seen_operand_before = true;
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t b = i;
      while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])))
        ++i;
      std::string name = s.substr(b, i - b);
      if (!names.count(name))
        return false;
      if (name == "pi" || name == "e")
        operand = seen_operand_before = true;
      else
        operation = true;
    } else if (std::string("+*/%^").find(c) != std::string::npos) {
      operation = true;
      ++i;
    } else if (c == '-') {
      operation = operation || seen_operand_before; // a leading minus is a sign
      ++i;
    } else if (c == '(' || c == ')' || c == ',' || c == ' ') {
      ++i;
    } else {
      return false;
    }
  }
  return operand && operation;
}

// Turns a spoken arithmetic question into an expression for the math tool, or nullopt.
std::optional<std::string> as_expression(const std::string& clause_low) {
  std::string s = collapse_spaces(clause_low);
  // Unicode operators: multiplication, division and minus signs.
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\xC3\x97", "*"}, {"\xC3\xB7", "/"}, {"\xE2\x88\x92", "-"}})
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from))
      s.replace(p, from.size(), to);
  while (!s.empty() && std::string("?.!= ").find(s.back()) != std::string::npos)
    s.pop_back();
  static const std::vector<std::string> fillers = {
      "please ", "can you ", "could you ", "tell me ", "what is ", "what's ", "whats ",
      "what are ", "calculate ", "compute ", "evaluate ", "solve ", "how much is ", "work out ",
      "figure out ", "the result of ", "the value of "};
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& f : fillers)
      if (s.compare(0, f.size(), f) == 0) {
        s = s.substr(f.size());
        changed = true;
      }
  }
  static const std::regex function_call("[a-z]\\s*\\(");
  if (!std::regex_search(s, function_call)) {
    static const std::regex thousands("(\\d),(\\d{3})\\b");
    for (std::string prev; prev != s;) {
      prev = s;
      s = std::regex_replace(s, thousands, "$1$2");
    }
  }
  static const std::vector<std::pair<std::regex, std::string>> rewrites = {
      {std::regex("\\bsum of (\\S+) and (\\S+)"), "$1 + $2"},
      {std::regex("\\bproduct of (\\S+) and (\\S+)"), "$1 * $2"},
      {std::regex("\\bdifference between (\\S+) and (\\S+)"), "$1 - $2"},
      {std::regex("\\b(to the power of|raised to the power of|raised to)\\b"), "^"},
      {std::regex("\\s*\\bsquared\\b"), "^2"},
      {std::regex("\\s*\\bcubed\\b"), "^3"},
      {std::regex("(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)\\s+of\\s+"), "$1/100*"},
      {std::regex("(\\d+(?:\\.\\d+)?)\\s*percent\\b"), "($1/100)"},
      {std::regex("(\\d+(?:\\.\\d+)?)%(?!\\s*[\\d(])"), "($1/100)"},
      {std::regex("\\bplus\\b"), "+"},
      {std::regex("\\bminus\\b"), "-"},
      {std::regex("\\b(times|multiplied by)\\b"), "*"},
      {std::regex("\\b(divided by|over)\\b"), "/"},
      {std::regex("\\b(modulo|mod)\\b"), "%"},
      {std::regex("(\\d)(\\s*)x(\\s*)(?=[\\d(])"), "$1$2*$3"},
      {std::regex("\\bthe\\b"), ""}};
  s = rewrite_function_phrases(s);
  for (auto& [re, replacement] : rewrites)
    s = std::regex_replace(s, re, replacement);
  s = rewrite_function_phrases(s); // operands that only became numbers after the rewrites
  s = collapse_spaces(s);
  if (!looks_like_expression(s))
    return std::nullopt;
  return s;
}

struct clause {
  size_t position;
  std::string text;
};

// Splits on commas, semicolons and joining words, keeping each clause's offset.
std::vector<clause> split_clauses(const std::string& low) {
  static const std::regex separator("\\s*(?:[,;]|\\band\\b|\\balso\\b|\\bthen\\b)\\s*");
  std::vector<clause> out;
  size_t start = 0;
  for (auto it = std::sregex_iterator(low.begin(), low.end(), separator); it != std::sregex_iterator(); ++it) {
    size_t at = static_cast<size_t>(it->position());
    if (at > start)
      out.push_back({start, low.substr(start, at - start)});
    start = at + static_cast<size_t>(it->length());
  }
  if (start < low.size())
    out.push_back({start, low.substr(start)});
  return out;
}

// --- question analysis ---------------------------------------------------------------------

// Words of the loaded catalog in a question that names no product: categories and brands
// ("e-bike", "Voltway"), words of the product descriptions ("folding", "camping"), shop
// language ("do you sell") and needs ("what should I take").
struct catalog_evidence {
  int named = 0;     // category and brand mentions
  int described = 0; // distinct description words
  bool shop = false;
  bool need = false;
  size_t first = std::string::npos; // where the first catalog word is written
  std::string descriptor;           // the catalog words in order: "folding e-bike"
  bool foreign_name = false;        // a proper name the catalog lacks ("the Galaxy Buds")

  // One description word alone is too weak ("the meaning of life" meets "battery life"). A
  // name the catalog lacks is never looked up by its other words: the catalog's nearest product
  // would silently stand in for it.
  bool about_catalog() const {
    return !foreign_name && (named > 0 || shop || described >= 2 || (need && described >= 1));
  }
  // Enough to look up the product a price question describes ("the folding e-bike").
  bool describes_product() const { return !foreign_name && (named > 0 || described >= 1); }
};

struct facts {
  std::string text; // trimmed original
  std::string low;
  std::string masked; // low with product names blanked, for number rules
  std::vector<mention> products;
  std::vector<mention> currencies;
  std::vector<mention> cities;
  catalog_evidence catalog; // what the question says about the catalog without naming a product
  bool names_attribute = false; // "how much range ...": a fact of the catalog, not a price
};

// "How much" about something measurable ("how much does it weigh", "how much range") rather
// than money.
bool asks_amount_of_something(const facts& f) {
  return matches(f.masked, non_price_amounts()) || f.names_attribute;
}

std::vector<mention> find_products(const std::string& text, const std::string& low,
                                   const std::vector<std::string>& names, coverage& cov) {
  // Names the catalog lacks ("Aurora X2") first, as written: the product tool says they are
  // unknown, and neither a known product's name nor a quantity is read into them.
  std::vector<mention> unknown;
  for (auto& span : core::unknown_product_names(text, names)) {
    cov.take(span.begin, span.end);
    unknown.push_back({span.begin, span.end, text.substr(span.begin, span.end - span.begin)});
  }
  std::vector<phrase> phrases;
  for (auto& n : names)
    if (!trim(n).empty())
      phrases.push_back({lower(trim(n)), trim(n)});
  auto found = find_phrases(low, phrases, cov);
  found.insert(found.end(), unknown.begin(), unknown.end());
  // "the Aurora" means the Aurora X1 when only one product's name starts with that capitalized
  // word (at least 4 letters) and the full name was not written.
  std::map<std::string, std::vector<std::string>> by_first_word;
  for (auto& n : names) {
    std::string first = lower(trim(n)).substr(0, lower(trim(n)).find(' '));
    if (first.size() >= 4 && first.size() < trim(n).size())
      by_first_word[first].push_back(trim(n));
  }
  for (auto& [first, owners] : by_first_word) {
    if (owners.size() != 1)
      continue;
    const std::string& owner = owners.front(); // a structured binding is not capturable in C++17
    bool already = std::any_of(found.begin(), found.end(),
                               [&](const mention& m) { return m.value == owner; });
    if (already)
      continue;
    for (size_t pos : find_words(low, first))
      if (cov.free(pos, pos + first.size()) && std::isupper(static_cast<unsigned char>(text[pos]))) {
        cov.take(pos, pos + first.size());
        found.push_back({pos, pos + first.size(), owners.front()});
        break;
      }
  }
  std::sort(found.begin(), found.end(),
            [](const mention& a, const mention& b) { return a.begin < b.begin; });
  // Each product once, at its first mention.
  std::vector<mention> distinct;
  for (auto& m : found)
    if (std::none_of(distinct.begin(), distinct.end(),
                     [&](const mention& d) { return d.value == m.value; }))
      distinct.push_back(m);
  return distinct;
}

// Cities not in the built-in list: capitalized words after "in"/"for"/"at", and after "and" or
// a comma following such a city ("in Oslo and Reykjavik").
std::vector<mention> find_named_places(const facts& f, const coverage& cov) {
  std::vector<mention> out;
  static const std::regex place(
      "\\b(?:in|for|at)\\s+([A-Z][A-Za-z'\\-]+(?:\\s+[A-Z][A-Za-z'\\-]+)*)"
      "((?:\\s*(?:,|\\band\\b|,\\s*and\\b)\\s*[A-Z][A-Za-z'\\-]+(?:\\s+[A-Z][A-Za-z'\\-]+)*)*)");
  static const std::regex more("[A-Z][A-Za-z'\\-]+(?:\\s+[A-Z][A-Za-z'\\-]+)*");
  static const std::set<std::string> not_places = {"today", "tomorrow", "tonight", "celsius",
                                                   "fahrenheit", "the", "my", "our", "your"};
  auto accept = [&](size_t begin, const std::string& name) {
    std::string low_name = lower(name);
    if (not_places.count(low_name) || !cov.free(begin, begin + name.size()))
      return;
    if (std::find(iso_codes().begin(), iso_codes().end(), name) != iso_codes().end())
      return;
    out.push_back({begin, begin + name.size(), name});
  };
  for (auto it = std::sregex_iterator(f.text.begin(), f.text.end(), place); it != std::sregex_iterator(); ++it) {
    auto& m = *it;
    accept(static_cast<size_t>(m.position(1)), m.str(1));
    std::string tail = m.str(2);
    size_t tail_at = static_cast<size_t>(m.position(2));
    for (auto t = std::sregex_iterator(tail.begin(), tail.end(), more); t != std::sregex_iterator(); ++t)
      accept(tail_at + static_cast<size_t>(t->position()), t->str());
  }
  return out;
}

// Acronyms that stand next to numbers or after "in" without being money.
const std::set<std::string>& not_currency_codes() {
  static const std::set<std::string> codes = {
      "VAT", "GST", "USA", "USB", "CPU", "GPU", "RAM", "SSD", "HDD", "LED", "LCD", "HDR", "ANC",
      "NFC", "GPS", "NYC", "GMT", "UTC", "CET", "EST", "PST", "FAQ", "API", "PDF"};
  return codes;
}

// Nouns after an amount that count things rather than name money ("100 units in EUR").
const std::set<std::string>& not_currency_words() {
  static const std::set<std::string> words = {
      "units", "unit", "pieces", "piece", "items", "item", "copies", "copy", "times", "percent",
      "people", "persons", "hours", "days", "weeks", "months", "years", "minutes", "seconds",
      "the", "and", "total", "cash", "stock", "stores", "store", "shops", "colors", "colours",
      "sales", "installments", "instalments", "payments", "parts", "pieces", "sets", "packs"};
  return words;
}

// Whether a digit stands right before `begin` or right after `end` (spaces between).
bool amount_beside(const std::string& low, size_t begin, size_t end) {
  size_t b = begin;
  while (b > 0 && low[b - 1] == ' ')
    --b;
  size_t e = end;
  while (e < low.size() && low[e] == ' ')
    ++e;
  return (b > 0 && std::isdigit(static_cast<unsigned char>(low[b - 1])))
         || (e < low.size() && std::isdigit(static_cast<unsigned char>(low[e])));
}

std::string word_after(const std::string& low, size_t pos) {
  while (pos < low.size() && low[pos] == ' ')
    ++pos;
  size_t end = pos;
  while (end < low.size() && is_alnum(low[end]))
    ++end;
  return low.substr(pos, end - pos);
}

// Currencies the planner has no name for, kept as written ("XYZ", "doubloons") so that the
// exchangeRate tool says they are unknown instead of the plan silently dropping them: in a
// money question, an upper-case three-letter code next to an amount, after "in"/"to"/"from" or
// before "to"/"rate"; with a product, a plural word after "in" closing the question ("cost in
// doubloons?"); without one, a word between an amount and a currency ("100 doubloons in
// dollars") or after a currency amount ("50 euros to doubloons").
std::vector<mention> find_unknown_currencies(const facts& f, coverage& cov) {
  std::vector<mention> out;
  bool money_question = !f.currencies.empty() || matches(f.low, exchange_words())
                        || matches(f.masked, price_words()) || contains_word(f.low, "how much");
  if (!money_question)
    return out;
  auto accept = [&](size_t b, size_t e) {
    if (!cov.free(b, e))
      return;
    cov.take(b, e);
    out.push_back({b, e, f.text.substr(b, e - b)});
  };
  // A question in capitals has no telling codes apart from words ("HOW", "BUY").
  bool has_lower = std::any_of(f.text.begin(), f.text.end(),
                               [](char c) { return std::islower(static_cast<unsigned char>(c)); });
  static const std::set<std::string> lead_ins = {"in", "to", "into", "from", "as"};
  static const std::set<std::string> lead_outs = {"to", "rate", "rates", "exchange"};
  auto is_upper = [&](size_t i) { return std::isupper(static_cast<unsigned char>(f.text[i])) != 0; };
  for (size_t b = 0; has_lower && b + 3 <= f.text.size(); ++b) {
    size_t e = b + 3;
    // Three capitals as a whole word.
    if (!is_upper(b) || !is_upper(b + 1) || !is_upper(b + 2) || (b > 0 && is_alnum(f.text[b - 1]))
        || (e < f.text.size() && is_alnum(f.text[e])))
      continue;
    std::string c = f.text.substr(b, 3);
    bool known = std::find(iso_codes().begin(), iso_codes().end(), c) != iso_codes().end();
    if (known || not_currency_codes().count(c))
      continue;
    if (lead_ins.count(word_before(f.low, b)) || lead_outs.count(word_after(f.low, e))
        || amount_beside(f.low, b, e))
      accept(b, e);
  }
  if (!f.products.empty()) {
    // "What does the Aurora X1 cost in doubloons?": a plural word closing a price question
    // ("how much storage ... in gigabytes" asks no price).
    bool price_question = matches(f.masked, price_words())
                          || (contains_word(f.low, "how much") && !asks_amount_of_something(f));
    static const std::regex closing_plural("\\b(?:in|into)\\s+([a-z]{3,}s)\\s*[?.!]*\\s*$");
    std::smatch m;
    if (price_question && std::regex_search(f.low, m, closing_plural)
        && !not_currency_words().count(m.str(1))) {
      size_t b = static_cast<size_t>(m.position(1));
      accept(b, b + static_cast<size_t>(m.length(1)));
    }
  } else {
    auto starts_currency = [&](size_t pos) {
      return std::any_of(f.currencies.begin(), f.currencies.end(), [&](const mention& m) { return m.begin == pos; })
             || std::any_of(out.begin(), out.end(), [&](const mention& m) { return m.begin == pos; });
    };
    static const std::regex amount_word("\\b\\d[\\d,.]*\\s+([a-z]{3,})\\s+(?:to|in|into)\\s+");
    for (auto it = std::sregex_iterator(f.low.begin(), f.low.end(), amount_word); it != std::sregex_iterator(); ++it) {
      size_t b = static_cast<size_t>(it->position(1));
      size_t next = static_cast<size_t>(it->position() + it->length());
      if (!not_currency_words().count(it->str(1)) && starts_currency(next))
        accept(b, b + static_cast<size_t>(it->length(1)));
    }
    static const std::regex converted_to("\\s+(?:to|in|into)\\s+([a-z]{3,})\\b");
    for (auto& m : f.currencies) {
      std::smatch to;
      auto from = f.low.begin() + static_cast<std::ptrdiff_t>(m.end);
      if (amount_beside(f.low, m.begin, m.end)
          && std::regex_search(from, f.low.end(), to, converted_to, std::regex_constants::match_continuous)
          && !not_currency_words().count(to.str(1))) {
        size_t b = m.end + static_cast<size_t>(to.position(1));
        accept(b, b + static_cast<size_t>(to.length(1)));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const mention& a, const mention& b) { return a.begin < b.begin; });
  return out;
}

// Lower-case words of `text` ([a-z] with inner hyphens, "e-bike"), with their offsets.
std::vector<std::pair<size_t, std::string>> words_of(const std::string& low) {
  std::vector<std::pair<size_t, std::string>> out;
  for (size_t i = 0; i < low.size();) {
    if (!std::islower(static_cast<unsigned char>(low[i]))) {
      ++i;
      continue;
    }
    size_t b = i;
    while (i < low.size() && (std::islower(static_cast<unsigned char>(low[i]))
                              || (low[i] == '-' && i + 1 < low.size()
                                  && std::islower(static_cast<unsigned char>(low[i + 1])))))
      ++i;
    bool in_token = (b > 0 && std::isdigit(static_cast<unsigned char>(low[b - 1])))
                    || (i < low.size() && std::isdigit(static_cast<unsigned char>(low[i])));
    if (!in_token) // "x1", "4k" are model names or units, not words
      out.emplace_back(b, low.substr(b, i - b));
  }
  return out;
}

// The catalog's form of a word: plurals folded ("tents", "e-bikes" -> "tent", "e-bike").
std::string word_stem(const std::string& w) {
  std::string st = core::stem(w);
  if (st == w && w.find('-') != std::string::npos && w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's')
    st.pop_back();
  return st;
}

// Words that ask for another tool (weather, prices, rates, comparisons, summaries): they say
// what to do, not which product, even when a description uses them ("wet weather").
bool is_cue_word(const std::string& w) {
  static const std::set<std::string> cues = [] {
    std::set<std::string> out;
    for (const word_list* list : {&weather_words(), &price_words(), &exchange_words(),
                                  &comparison_words(), &summary_words(), &shop_words(), &need_words(),
                                  &math_words()})
      for (auto& word : list->words)
        out.insert(word);
    return out;
  }();
  return cues.count(w) > 0;
}

// Whether the question names something with a capitalized word the catalog does not know
// ("Galaxy Buds", "a Brompton e-bike"): not at the start of a sentence, not "I", not a brand or
// category word of the catalog, not a place after "in", "to", "at" ... ("take to Oslo"). `text` is
// the lower-case question with products, currencies and cities blanked.
bool names_something_else(const facts& f, const std::string& text, const planner_context& ctx) {
  static const std::set<std::string> place_lead_ins = {"in", "to", "at", "from", "near", "around", "for"};
  std::set<std::string> known;
  for (auto& b : ctx.brands)
    known.insert(lower(trim(b)));
  for (auto& c : ctx.categories)
    for (auto& [at, w] : words_of(lower(c)))
      known.insert(w);
  // A question in capitals tells no names apart.
  if (std::none_of(f.text.begin(), f.text.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)); }))
    return false;
  for (auto& [at, w] : words_of(text)) {
    if (!std::isupper(static_cast<unsigned char>(f.text[at])) || w == "i" || known.count(w)
        || known.count(word_stem(w)))
      continue; // description words do not count: "Pixel" is one, "the Pixel Tablet" is no product
    size_t before = at;
    while (before > 0 && f.text[before - 1] == ' ')
      --before;
    bool sentence_start = before == 0 || std::string(".!?:;\"(").find(f.text[before - 1]) != std::string::npos;
    if (sentence_start || place_lead_ins.count(word_before(f.low, at)))
      continue;
    return true;
  }
  return false;
}

catalog_evidence find_catalog_evidence(const facts& f, const planner_context& ctx) {
  catalog_evidence e;
  // What is already a product, currency or city is not evidence of anything else.
  std::string text = f.low;
  for (const auto* mentions : {&f.products, &f.currencies, &f.cities})
    for (auto& m : *mentions)
      std::fill(text.begin() + m.begin, text.begin() + m.end, ' ');
  coverage cov(text.size());
  std::vector<phrase> named;
  for (auto& c : ctx.categories) {
    std::string l = lower(trim(c));
    if (l.empty())
      continue;
    named.push_back({l, l});
    named.push_back({l + "s", l});
    named.push_back({l + "es", l});
    if (l.size() > 3 && l.back() == 's') // "headphones" -> "headphone"
      named.push_back({l.substr(0, l.size() - 1), l});
  }
  for (auto& b : ctx.brands)
    if (!trim(b).empty())
      named.push_back({lower(trim(b)), lower(trim(b))});
  std::vector<mention> found = find_phrases(text, named, cov);
  e.named = static_cast<int>(found.size());
  for (auto& m : found)
    m.value = text.substr(m.begin, m.end - m.begin);
  std::set<std::string> seen;
  for (auto& [at, w] : words_of(text)) {
    if (!cov.free(at, at + w.size()) || w.size() < 3 || topicless_words().count(w) || is_cue_word(w))
      continue;
    std::string st = word_stem(w);
    if (!std::binary_search(ctx.description_words.begin(), ctx.description_words.end(), st))
      continue;
    if (seen.insert(st).second)
      ++e.described;
    found.push_back({at, at + w.size(), w});
  }
  e.shop = matches(text, shop_words());
  e.need = matches(text, need_words());
  e.foreign_name = names_something_else(f, text, ctx);
  std::sort(found.begin(), found.end(), [](const mention& a, const mention& b) { return a.begin < b.begin; });
  for (auto& m : found)
    e.descriptor += (e.descriptor.empty() ? "" : " ") + m.value;
  if (!found.empty())
    e.first = found.front().begin;
  return e;
}

facts analyze(const std::string& query, const planner_context& ctx) {
  facts f;
  f.text = trim(query);
  f.low = lower(f.text);
  coverage cov(f.low.size());
  f.products = find_products(f.text, f.low, ctx.product_names, cov);
  f.masked = f.low;
  for (auto& p : f.products)
    std::fill(f.masked.begin() + p.begin, f.masked.begin() + p.end, '#');
  for (auto& a : ctx.attributes)
    f.names_attribute = f.names_attribute || contains_word(f.masked, a) || contains_word(f.masked, a + "s");
  f.currencies = find_phrases(f.low, currency_phrases(), cov);
  if (matches(f.low, weather_words())) {
    f.cities = find_phrases(f.low, city_phrases(), cov);
    for (auto& m : find_named_places(f, cov))
      f.cities.push_back(m);
    std::sort(f.cities.begin(), f.cities.end(),
              [](const mention& a, const mention& b) { return a.begin < b.begin; });
    std::vector<mention> distinct;
    for (auto& c : f.cities)
      if (std::none_of(distinct.begin(), distinct.end(), [&](const mention& d) { return d.value == c.value; }))
        distinct.push_back(c);
    f.cities = std::move(distinct);
    for (auto& c : f.cities)
      cov.take(c.begin, c.end);
  }
  auto unknown = find_unknown_currencies(f, cov);
  if (!unknown.empty()) {
    f.currencies.insert(f.currencies.end(), unknown.begin(), unknown.end());
    std::sort(f.currencies.begin(), f.currencies.end(),
              [](const mention& a, const mention& b) { return a.begin < b.begin; });
  }
  if (f.products.empty())
    f.catalog = find_catalog_evidence(f, ctx);
  return f;
}

// The amount written next to a currency: "250 GBP", "$250", "GBP 250", "1,299.50 euros".
std::optional<double> amount_near(const facts& f, const mention& m) {
  auto is_num = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == ','; };
  size_t end = m.begin;
  while (end > 0 && f.low[end - 1] == ' ')
    --end;
  size_t begin = end;
  while (begin > 0 && is_num(f.low[begin - 1]))
    --begin;
  if (begin < end && !(begin > 0 && std::isalpha(static_cast<unsigned char>(f.low[begin - 1]))))
    if (auto n = parse_number(f.low.substr(begin, end - begin)))
      return n;
  // After a symbol or code only ("$250", "EUR 100"), never after a currency name.
  bool code_or_symbol = m.end - m.begin <= 3 || !is_alnum(f.low[m.begin]);
  if (!code_or_symbol)
    return std::nullopt;
  size_t b = m.end;
  while (b < f.low.size() && f.low[b] == ' ')
    ++b;
  size_t e = b;
  while (e < f.low.size() && is_num(f.low[e]))
    ++e;
  if (e > b && (e == f.low.size() || !std::isalpha(static_cast<unsigned char>(f.low[e]))))
    return parse_number(f.low.substr(b, e - b));
  return std::nullopt;
}

// Currencies a product price should be converted to: "in euros", "to GBP", or an ISO code.
std::vector<std::string> target_currencies(const facts& f) {
  std::vector<std::string> out;
  for (auto& m : f.currencies) {
    static const std::set<std::string> lead_ins = {"in", "to", "into", "as"};
    std::string written = f.text.substr(m.begin, m.end - m.begin);
    bool upper_code = written.size() == 3 && written == m.value;
    if ((lead_ins.count(word_before(f.low, m.begin)) || upper_code)
        && std::find(out.begin(), out.end(), m.value) == out.end())
      out.push_back(m.value);
  }
  return out;
}

std::string first_match(const std::string& text, const std::vector<std::regex>& patterns) {
  for (auto& re : patterns) {
    std::smatch m;
    if (std::regex_search(text, m, re))
      return m.str(1);
  }
  return {};
}

// Replaces every whole-word occurrence of `word` (lower case) in `s`.
std::string replace_words(std::string s, const std::string& word, const std::string& by) {
  auto hits = find_words(s, word);
  for (auto it = hits.rbegin(); it != hits.rend(); ++it)
    s.replace(*it, word.size(), by);
  return s;
}

// Counts written as words become digits, so the quantity rules read "two Tidal Buds" like
// "2 Tidal Buds": one..twelve, "a dozen", "half a dozen", "<n> dozen", "a pair of", "<n> pairs
// of". "A couple of" is left alone: it does not say how many.
std::string number_words_as_digits(std::string s) {
  static const std::vector<std::pair<std::string, std::string>> words = {
      {"half a dozen", "6"}, {"a dozen", "12"}, {"a pair of", "2"}, {"one", "1"}, {"two", "2"},
      {"three", "3"}, {"four", "4"}, {"five", "5"}, {"six", "6"}, {"seven", "7"}, {"eight", "8"},
      {"nine", "9"}, {"ten", "10"}, {"eleven", "11"}, {"twelve", "12"}};
  for (auto& [word, digits] : words)
    s = replace_words(std::move(s), word, digits);
  if (contains_word(s, "dozen")) { // the regexes only when they can match: planning stays fast
    static const std::regex dozens("\\b(\\d{1,6}) dozen\\b");
    std::smatch m;
    while (std::regex_search(s, m, dozens))
      s = m.prefix().str() + std::to_string(std::stoi(m.str(1)) * 12) + m.suffix().str();
    s = replace_words(std::move(s), "dozen", "12");
  }
  if (contains_word(s, "pairs of")) {
    static const std::regex pairs_of("\\b(\\d+) pairs of\\b");
    s = std::regex_replace(s, pairs_of, "$1");
  }
  return s;
}

// Quantity, discount and tax written around a product price, as " * 3 * 0.9 * 1.19".
std::string price_modifiers(const facts& f) {
  static const std::vector<std::regex> quantity = {
      std::regex("\\b(?:times|x)\\s*(\\d+)\\b"),
      std::regex("\\bfor\\s+(\\d+)\\s+(?:units?|pieces?|items?|copies|of them)\\b"),
      std::regex("\\b(\\d+)\\s+(?:units?|pieces?|items?|copies)\\b"),
      std::regex("\\b(?:buy|buying|order|ordering|purchase|purchasing)\\s+(\\d+)\\b"),
      std::regex("\\b(\\d+)\\s*(?:x\\s*)?(?:of\\s+)?(?:the\\s+)?#"),
      std::regex("#\\s*x\\s*(\\d+)\\b")};
  static const std::vector<std::regex> discount = {
      std::regex("(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)\\s*(?:discount|off)\\b"),
      std::regex("\\bdiscount\\s+of\\s+(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)"),
      std::regex("\\b(?:minus|less)\\s+(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)")};
  static const std::vector<std::regex> tax = {
      std::regex("(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)\\s*(?:vat|tax|sales tax|mwst|gst)\\b"),
      std::regex("\\b(?:vat|tax|sales tax|mwst|gst)\\s+(?:of\\s+|at\\s+)?(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)"),
      std::regex("\\bplus\\s+(\\d+(?:\\.\\d+)?)\\s*(?:%|percent)")};
  std::string text = number_words_as_digits(f.masked);
  std::string out;
  if (auto q = first_match(text, quantity); !q.empty() && q != "1")
    out += " * " + q;
  if (auto d = first_match(text, discount); !d.empty())
    out += " * " + json::format_number(1 - std::strtod(d.c_str(), nullptr) / 100);
  if (auto t = first_match(text, tax); !t.empty())
    out += " * " + json::format_number(1 + std::strtod(t.c_str(), nullptr) / 100);
  return out;
}

// The question narrowed to one product for a comparison: its name plus the topic words.
std::string comparison_query(const facts& f, const std::string& product) {
  std::string topic;
  static const std::regex word("[a-z0-9][a-z0-9'\\-]*");
  std::string rest = f.masked;
  for (auto it = std::sregex_iterator(rest.begin(), rest.end(), word); it != std::sregex_iterator(); ++it)
    if (!comparison_stopwords().count(it->str()))
      topic += " " + it->str();
  return product + topic;
}

std::optional<std::string> weather_date(const facts& f) {
  static const std::regex date("\\b(today|tomorrow|tonight|\\d{4}-\\d{2}-\\d{2})\\b");
  std::smatch m;
  if (std::regex_search(f.low, m, date))
    return m.str(1);
  return std::nullopt;
}

// --- the grammar: intents and their slots ----------------------------------------------------
//
// A question is read as a sequence of intents, each filled from the slots found above
// (products named or described by catalog words, cities, currencies with their amounts,
// quantities, discounts and taxes, dates) and run in the order the question states them:
//
//   price       product+ and a price cue (a price word, "how much", a currency to convert
//               into, a quantity, discount or tax)   lookup [-> exchangeRate per currency] [-> math]
//   price_gap   two products and a comparative price cue ("cheaper", "price difference")
//                                                    lookup || lookup -> exchangeRate -> math
//   comparison  two or more products, a comparison cue or no price cue
//                                                    lookups -> ragGeneration
//   grounded    one product, anything else            lookup -> ragGeneration
//   catalog     catalog words and no product          search -> ragGeneration
//   weather     a city (with a weather cue) [date]    weather per city
//   exchange    two currencies, or one with an amount or a rate cue
//                                                    exchangeRate per pair
//   math        arithmetic, the whole question or a clause of it
//   chat        nothing of the above                  generalChat
//
// A summary cue adds an orchestrationSynthesis step over every result.

constexpr int comparison_chunks = 3;

enum class intent_kind { price, price_gap, pick, comparison, grounded, catalog, weather, exchange, math, chat };

struct intent {
  intent_kind kind = intent_kind::chat;
  size_t position = 0;                 // where the question states it
  std::vector<std::string> products;   // catalog names, or a description ("folding e-bike")
  std::vector<std::string> currencies; // price: targets; price_gap: at most one; exchange: from, to
  std::string text;                    // the question, an expression or a city
  std::optional<std::string> date;     // weather
  double amount = 1;                   // exchange
  std::string modifiers;               // price: quantity, discount and tax as " * 3 * 0.9"
  bool second_minus_first = false;     // price_gap: "how much cheaper is A than B" is B - A
};

// A choice by price followed by a question about the one chosen, with a currency to convert
// into: nullopt when the question is not one.
std::optional<price_choice> choice_in(const facts& f) {
  auto targets = target_currencies(f);
  if (f.products.size() < 2 || targets.empty() || !matches(f.masked, choice_words())
      || !matches(f.masked, chosen_one_words()))
    return std::nullopt;
  price_choice c;
  static const std::regex dearest("\\b(more|most) expensive\\b|\\bpricier\\b|\\bpriciest\\b");
  c.cheapest = !std::regex_search(f.masked, dearest);
  c.currency = targets.front();
  for (auto& p : f.products)
    c.products.push_back(p.value);
  return c;
}

intent make_intent(intent_kind kind, size_t position) {
  intent i;
  i.kind = kind;
  i.position = position;
  return i;
}

// A price asked in words: a price word, "how much" (not "how much does it weigh") or a currency
// to convert into. Quantities alone do not make a price question ("6 times 7").
bool names_price(const facts& f) {
  bool how_much = contains_word(f.low, "how much") && !asks_amount_of_something(f);
  return matches(f.masked, price_words()) || how_much || !target_currencies(f).empty();
}

// A price asked in any way: in words, or by a quantity, discount or tax on a product.
bool asks_price(const facts& f) { return names_price(f) || !price_modifiers(f).empty(); }

// price_gap, comparison, price or grounded: what the question asks about its products.
void product_intents(const facts& f, const std::vector<mention>& products, std::vector<intent>& out) {
  std::vector<std::string> names;
  for (auto& p : products)
    names.push_back(p.value);
  size_t at = products.front().begin;
  auto targets = target_currencies(f);

  // "Which is cheaper, A or B, and what does that one cost in JPY?": which one is converted
  // depends on the prices, which a placeholder cannot express. The plan looks them up and then
  // decides (DESIGN §14): a revision converts the one chosen (providers/revise.hpp).
  if (auto choice = choice_in(f)) {
    intent pick = make_intent(intent_kind::pick, at);
    pick.products = choice->products;
    pick.currencies = {choice->currency};
    out.push_back(pick);
    return;
  }
  if (names.size() >= 2 && matches(f.masked, price_comparison_words())) {
    intent gap = make_intent(intent_kind::price_gap, at);
    gap.products = {names[0], names[1]};
    if (!targets.empty())
      gap.currencies = {targets.front()};
    // B - A, so that the answer is positive when A is the cheaper one; "more expensive",
    // "which is cheaper" and the rest: A - B.
    gap.second_minus_first = contains_word(f.masked, "than")
                             && (contains_word(f.masked, "cheaper") || contains_word(f.masked, "less"));
    out.push_back(gap);
    return;
  }
  bool price = asks_price(f);
  if (names.size() >= 2 && (matches(f.masked, comparison_words()) || !price)) {
    intent compare = make_intent(intent_kind::comparison, at);
    for (auto& n : names)
      compare.products.push_back(comparison_query(f, n));
    compare.text = f.text;
    out.push_back(compare);
    return;
  }
  if (price) {
    std::string modifiers = price_modifiers(f);
    for (auto& m : products) {
      intent each = make_intent(intent_kind::price, m.begin);
      each.products = {m.value};
      each.currencies = targets;
      each.modifiers = modifiers;
      out.push_back(each);
    }
    return;
  }
  intent grounded = make_intent(intent_kind::grounded, at);
  grounded.text = f.text;
  out.push_back(grounded);
}

bool wants_exchange(const facts& f) {
  if (f.currencies.size() >= 2)
    return true;
  return f.currencies.size() == 1
         && (amount_near(f, f.currencies[0]) || matches(f.low, exchange_words()));
}

void exchange_intents(const facts& f, std::vector<intent>& out) {
  auto& cs = f.currencies;
  auto add_pair = [&](size_t position, const std::string& from, const std::string& to, double amount) {
    // The same conversion asked twice is looked up once.
    for (auto& i : out)
      if (i.kind == intent_kind::exchange && i.currencies == std::vector<std::string>{from, to}
          && json::format_number(i.amount) == json::format_number(amount))
        return;
    intent x = make_intent(intent_kind::exchange, position);
    x.currencies = {from, to};
    x.amount = amount;
    out.push_back(x);
  };
  if (cs.size() == 1) {
    // One currency: convert it to dollars (or dollars to euros).
    std::string from = cs[0].value;
    add_pair(cs[0].begin, from, from == "USD" ? "EUR" : "USD", amount_near(f, cs[0]).value_or(1));
    return;
  }
  // Pairs in order ("250 GBP to USD"); a currency without an amount after a complete pair is
  // one more target for the same amount ("100 USD to EUR and GBP").
  std::optional<mention> from;
  std::optional<double> amount;
  for (size_t i = 0; i < cs.size();) {
    auto here = amount_near(f, cs[i]);
    if (!from || here) {
      if (i + 1 >= cs.size())
        break;
      mention a = cs[i], b = cs[i + 1];
      auto amount_a = here;
      auto amount_b = amount_near(f, b);
      // "How many yen is 100 dollars": the amount marks the source; so does "from".
      bool swap = (!amount_a && amount_b)
                  || (!amount_a && !amount_b && word_before(f.low, b.begin) == "from"
                      && word_before(f.low, a.begin) != "from");
      if (swap)
        std::swap(a, b);
      from = a;
      amount = swap ? amount_b : amount_a;
      i += 2;
      add_pair(std::min(a.begin, b.begin), a.value, b.value, amount.value_or(1));
    } else {
      add_pair(cs[i].begin, from->value, cs[i].value, amount.value_or(1));
      ++i;
    }
  }
}

void math_clause_intents(const facts& f, std::vector<intent>& out) {
  for (auto& c : split_clauses(f.low))
    if (auto e = as_expression(c.text)) {
      intent m = make_intent(intent_kind::math, c.position);
      m.text = *e;
      out.push_back(m);
    }
}

// The intents of a question, in the order it states them.
std::vector<intent> parse_intents(const facts& f) {
  std::vector<intent> out;
  auto date = weather_date(f);
  for (auto& c : f.cities) {
    intent w = make_intent(intent_kind::weather, c.begin);
    w.text = c.value;
    w.date = date;
    out.push_back(w);
  }
  // A product described by catalog words ("the folding e-bike") is looked up by that
  // description; the product tool picks the catalog product it fits best.
  bool described_price = f.products.empty() && f.catalog.describes_product() && names_price(f)
                         && !as_expression(f.low);
  if (!f.products.empty())
    product_intents(f, f.products, out);
  else if (described_price)
    product_intents(f, {{f.catalog.first, f.catalog.first, f.catalog.descriptor}}, out);
  else if (wants_exchange(f))
    exchange_intents(f, out);

  if (out.empty()) {
    // Arithmetic: the whole question first ("sum of 3 and 4"), else its clauses.
    if (auto e = as_expression(f.low)) {
      intent m = make_intent(intent_kind::math, 0);
      m.text = *e;
      out.push_back(m);
    } else {
      math_clause_intents(f, out);
    }
  } else if (f.products.empty() && !described_price) {
    math_clause_intents(f, out); // "weather in Berlin and what is 2+2"
  }

  if (out.empty()) {
    intent rest = make_intent(f.catalog.about_catalog() ? intent_kind::catalog : intent_kind::chat, 0);
    rest.text = f.text;
    out.push_back(rest);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const intent& a, const intent& b) { return a.position < b.position; });
  return out;
}

// The steps of one intent.
void emit(const intent& i, plan_builder& p) {
  switch (i.kind) {
    case intent_kind::price:
      for (auto& name : i.products) {
        auto s = p.add("getProductInformation", {{"query", name + " price"}});
        if (i.currencies.empty() && !i.modifiers.empty())
          p.add("math", {{"expression", ref(s, "price") + i.modifiers}});
        for (auto& t : i.currencies) {
          auto e = p.add("exchangeRate", {{"from", ref(s, "currency")}, {"to", t},
                                          {"amount", ref(s, "price")}});
          if (!i.modifiers.empty())
            p.add("math", {{"expression", ref(e, "converted") + i.modifiers}});
        }
      }
      return;
    case intent_kind::pick:
      for (auto& name : i.products)
        p.add("getProductInformation", {{"query", name + " price"}});
      p.then_decide();
      return;
    case intent_kind::price_gap: {
      // Both prices in one currency: the second converted into the first's (an identity
      // conversion when they already match) or both into the requested currency.
      auto sa = p.add("getProductInformation", {{"query", i.products[0] + " price"}});
      auto sb = p.add("getProductInformation", {{"query", i.products[1] + " price"}});
      std::string first, second;
      if (!i.currencies.empty()) {
        const std::string& target = i.currencies.front();
        auto ea = p.add("exchangeRate", {{"from", ref(sa, "currency")}, {"to", target},
                                         {"amount", ref(sa, "price")}});
        auto eb = p.add("exchangeRate", {{"from", ref(sb, "currency")}, {"to", target},
                                         {"amount", ref(sb, "price")}});
        first = ref(ea, "converted");
        second = ref(eb, "converted");
      } else {
        auto eb = p.add("exchangeRate", {{"from", ref(sb, "currency")}, {"to", ref(sa, "currency")},
                                         {"amount", ref(sb, "price")}});
        first = ref(sa, "price");
        second = ref(eb, "converted");
      }
      p.add("math", {{"expression", i.second_minus_first ? second + " - " + first : first + " - " + second}});
      return;
    }
    case intent_kind::comparison: {
      // The RAG context must be one flat list of chunk objects, so it names each product's
      // chunks one by one. Every catalog product has at least 4 chunks that contain its name,
      // so a named query with topK 3 always returns chunks 0..2.
      std::vector<std::string> context;
      for (auto& query : i.products) {
        auto s = p.add("getProductInformation", {{"query", query}, {"topK", double(comparison_chunks)}});
        for (int k = 0; k < comparison_chunks; ++k)
          context.push_back(ref(s, "chunks[" + std::to_string(k) + "]"));
      }
      p.add("ragGeneration", {{"query", i.text}, {"context", context}});
      return;
    }
    case intent_kind::grounded: {
      auto s = p.add("getProductInformation", {{"query", i.text}});
      p.add("ragGeneration", {{"query", i.text}, {"context", ref(s, "chunks")}});
      return;
    }
    case intent_kind::catalog: {
      // No product named: retrieve across the whole catalog, then answer.
      auto s = p.add("getProductInformation", {{"query", i.text}, {"topK", 5.0}});
      p.add("ragGeneration", {{"query", i.text}, {"context", ref(s, "chunks")}});
      return;
    }
    case intent_kind::weather: {
      args_list args = {{"city", i.text}};
      if (i.date)
        args.emplace_back("date", *i.date);
      p.add("weather", args);
      return;
    }
    case intent_kind::exchange:
      p.add("exchangeRate", {{"from", i.currencies[0]}, {"to", i.currencies[1]}, {"amount", i.amount}});
      return;
    case intent_kind::math:
      p.add("math", {{"expression", i.text}});
      return;
    case intent_kind::chat:
      p.add("generalChat", {{"message", i.text}});
      return;
  }
}

// Longer questions are not parsed by rules (std::regex recurses per character); they go to
// general chat as they are.
constexpr size_t max_parsed_chars = 1000;

outcome<std::string> plan_rules(const std::string& query, const planner_context& ctx) {
  if (trim(query).empty())
    return fail("empty question");
  if (trim(query).size() > max_parsed_chars) {
    plan_builder builder;
    builder.add("generalChat", {{"message", trim(query)}});
    return builder.text();
  }
  plan_builder builder;
  if (auto choice = order_choice_in(query, ctx)) {
    // Which one is ordered depends on the prices: look them up, then decide (revise.cpp).
    for (auto& name : choice->products)
      builder.add("getProductInformation", {{"query", name + " price"}});
    builder.then_decide();
    return builder.text();
  }
  if (auto order = order_in(query, ctx)) {
    add_order_steps(*order, builder);
    return builder.text();
  }
  facts f = analyze(query, ctx);
  for (auto& i : parse_intents(f))
    emit(i, builder);

  // "Give me a summary of ...": one more step that states every result together, unless the
  // plan already ends in a written answer.
  const std::string& last_tool = builder.tools().back();
  if (matches(f.low, summary_words()) && last_tool != "ragGeneration" && last_tool != "generalChat") {
    std::vector<std::string> results;
    for (auto& id : builder.ids())
      results.push_back(ref(id));
    builder.add("orchestrationSynthesis", {{"query", f.text}, {"results", results}});
  }
  return builder.text();
}

} // namespace

std::optional<price_choice> price_choice_of(const std::string& question, const planner_context& ctx) {
  if (trim(question).empty() || trim(question).size() > max_parsed_chars)
    return std::nullopt;
  try {
    return choice_in(analyze(question, ctx));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

outcome<std::string> plan_offline(const std::string& query, const planner_context& ctx) {
  try {
    auto plan = plan_rules(query, ctx);
    if (!plan)
      return plan;
    // The same validation the orchestrator applies, e.g. the step limit for long lists.
    if (auto valid = core::parse_plan(*plan); !valid)
      return fail("cannot plan this question offline: " + valid.error());
    return plan;
  } catch (const std::exception& e) {
    return fail(std::string("offline planner error: ") + e.what());
  }
}

question_entities find_entities(const std::string& query, const planner_context& ctx) {
  question_entities out;
  if (trim(query).size() > max_parsed_chars)
    return out;
  facts f = analyze(query, ctx);
  if (f.cities.empty()) {
    // A follow-up names a place without a weather word ("and in Rome?").
    coverage cov(f.low.size());
    for (auto& m : f.products)
      cov.take(m.begin, m.end);
    for (auto& m : f.currencies)
      cov.take(m.begin, m.end);
    f.cities = find_phrases(f.low, city_phrases(), cov);
    for (auto& m : find_named_places(f, cov))
      f.cities.push_back(m);
  }
  for (auto& m : f.products)
    out.products.push_back(m.value);
  for (auto& m : f.cities)
    if (std::find(out.cities.begin(), out.cities.end(), m.value) == out.cities.end())
      out.cities.push_back(m.value);
  for (auto& m : f.currencies)
    out.currencies.push_back(m.value);
  return out;
}

std::vector<std::string> load_product_names(const std::string& products_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(products_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".md" || it->path().filename() == "README.md")
      continue;
    std::ifstream in(it->path());
    std::string line;
    // Front matter: a first line "---", then key: value lines up to the next "---".
    if (!std::getline(in, line) || trim(line) != "---")
      continue;
    while (std::getline(in, line) && trim(line) != "---") {
      line = trim(line);
      if (line.compare(0, 5, "name:") != 0)
        continue;
      std::string name = trim(line.substr(5));
      if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'') && name.back() == name.front())
        name = name.substr(1, name.size() - 2);
      if (!name.empty())
        names.push_back(name);
      break;
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

planner_context load_planner_context(const std::string& products_dir) {
  planner_context ctx;
  auto catalog = load_catalog(products_dir);
  if (!catalog) { // the product tools will say why; the planner still knows the names
    ctx.product_names = load_product_names(products_dir);
    return ctx;
  }
  std::set<std::string> brands, categories, words, attributes;
  auto add_words = [&](const std::string& text) {
    for (auto& [at, w] : words_of(lower(text)))
      if (w.size() >= 3 && !topicless_words().count(w))
        words.insert(word_stem(w));
  };
  for (const auto& p : *catalog) {
    ctx.product_names.push_back(p.name);
    if (!trim(p.category).empty())
      categories.insert(lower(trim(p.category)));
    for (const auto& [key, value] : p.facts) {
      if (key == "brand" && !trim(value).empty())
        brands.insert(trim(value));
      else if (key != "brand")
        attributes.insert(lower(key.find('_') == std::string::npos ? key : key.substr(key.rfind('_') + 1)));
      add_words(value);
    }
    add_words(p.category);
    add_words(p.body);
  }
  std::sort(ctx.product_names.begin(), ctx.product_names.end());
  ctx.brands.assign(brands.begin(), brands.end());
  ctx.categories.assign(categories.begin(), categories.end());
  ctx.description_words.assign(words.begin(), words.end()); // sorted: binary_search
  ctx.attributes.assign(attributes.begin(), attributes.end());
  return ctx;
}

} // namespace eventide::providers
