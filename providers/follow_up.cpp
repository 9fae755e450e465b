#include "providers/follow_up.hpp"

#include <regex>

#include "core/text.hpp"

namespace eventide::providers {

namespace {

std::string trim_question(std::string s) {
  while (!s.empty() && (s.back() == '?' || s.back() == '.' || s.back() == '!' || s.back() == ' '))
    s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : s.substr(start);
}

// Replaces the first whole-word, case-insensitive occurrence of `what` in `text`.
bool replace_word(std::string& text, const std::string& what, const std::string& with) {
  if (what.empty())
    return false;
  auto lower_text = core::lower(text);
  auto lower_what = core::lower(what);
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (size_t at = lower_text.find(lower_what); at != std::string::npos;
       at = lower_text.find(lower_what, at + 1)) {
    size_t end = at + lower_what.size();
    if ((at == 0 || !is_word(lower_text[at - 1]))
        && (end == lower_text.size() || !is_word(lower_text[end]))) {
      text.replace(at, what.size(), with);
      return true;
    }
  }
  return false;
}

// Words that make a question lean on the one before it.
bool opens_follow_up(const std::string& q) {
  static const std::regex cue(
    R"(^(and|what about|how about|same|now|then|in|for|with|at|also)\b)",
    std::regex::icase);
  return std::regex_search(q, cue);
}

} // namespace

std::optional<std::string> resolve_follow_up(const std::string& question,
                                             const std::string& previous,
                                             const planner_context& ctx) {
  const std::string q = trim_question(question);
  std::string before = trim_question(previous);
  if (q.empty() || before.empty())
    return std::nullopt;
  auto asked = find_entities(q, ctx);
  if (asked.products.empty() && asked.cities.empty() && asked.currencies.empty()) {
    // "what about the Galaxy Buds?": a name the catalog lacks, taken as written (capitalized)
    // so that the planner says it is unknown instead of answering the last product again.
    static const std::regex named(R"(^(?:and\s+)?(?:what|how)\s+about\s+(?:the\s+)?([A-Z][\w-]*(?:\s+[A-Z0-9][\w-]*)*)$)");
    std::smatch n;
    if (std::regex_search(q, n, named))
      asked.products.push_back(n[1].str());
  }
  const auto earlier = find_entities(before, ctx);

  // A pronoun for the last product: "is it cheaper than the Aurora X1?".
  static const std::regex pronoun(R"(\b(it|that one|this one)\b)", std::regex::icase);
  std::smatch m;
  if (!earlier.products.empty() && asked.products.size() < 2 && std::regex_search(q, m, pronoun)) {
    std::string out = q;
    out.replace(static_cast<size_t>(m.position(0)), static_cast<size_t>(m.length(0)),
                "the " + earlier.products.back());
    return out + "?";
  }
  if (!opens_follow_up(q))
    return std::nullopt;

  std::string out = before;
  bool changed = false;
  // Another product or city for the same question.
  if (!asked.products.empty()) {
    if (earlier.products.empty() || !replace_word(out, earlier.products.front(), asked.products.front()))
      return std::nullopt;
    changed = true;
  }
  if (!asked.cities.empty()) {
    if (earlier.cities.empty() || !replace_word(out, earlier.cities.front(), asked.cities.front()))
      return std::nullopt;
    changed = true;
  }
  // Another currency: in place of the one named (as its code), else added.
  for (auto& currency : asked.currencies) {
    if (earlier.currencies.empty() || !replace_word(out, earlier.currencies.front(), currency))
      out += " in " + currency;
    changed = true;
  }
  // A quantity or a discount on the last result.
  static const std::regex quantity(R"(\b(\d+)\s+(of them|units?|pieces?|items?)\b)", std::regex::icase);
  if (std::regex_search(q, m, quantity)) {
    out += " for " + m[1].str() + " of them";
    changed = true;
  }
  static const std::regex discount(R"((\d+(?:\.\d+)?)\s*(%|percent)\s*(off|discount))",
                                   std::regex::icase);
  if (std::regex_search(q, m, discount)) {
    out += " with " + m[1].str() + "% off";
    changed = true;
  }
  if (!changed)
    return std::nullopt;
  return out + "?";
}

} // namespace eventide::providers
