#include "core/entity_names.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/text.hpp"

namespace eventide::core {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

struct token {
  std::size_t begin, end;
  std::string low;
};

std::vector<token> tokenize(std::string_view text) {
  std::vector<token> out;
  for (std::size_t i = 0; i < text.size();) {
    if (!is_alnum(text[i])) {
      ++i;
      continue;
    }
    std::size_t b = i;
    while (i < text.size() && is_alnum(text[i]))
      ++i;
    out.push_back({b, i, lower(text.substr(b, i - b))});
  }
  return out;
}

// Words that name something: tokens with a letter ("11" alone says nothing about a product).
std::set<std::string> name_words(std::string_view name) {
  std::set<std::string> out;
  for (auto& t : tokenize(name))
    if (std::any_of(t.low.begin(), t.low.end(), is_alpha))
      out.insert(t.low);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + items[i];
  return out;
}

} // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::string x = lower(a), y = lower(b);
  std::vector<std::size_t> row(y.size() + 1);
  for (std::size_t j = 0; j <= y.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= x.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= y.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (x[i - 1] == y[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[y.size()];
}

std::vector<std::string> nearest_names(std::string_view wanted, const std::vector<std::string>& known,
                                       std::size_t max) {
  struct candidate {
    std::size_t shared, distance, index;
  };
  auto wanted_words = name_words(wanted);
  std::size_t max_edits = std::max<std::size_t>(1, wanted.size() / 3);
  std::vector<candidate> near;
  for (std::size_t i = 0; i < known.size(); ++i) {
    std::size_t shared = 0;
    for (auto& w : name_words(known[i]))
      shared += wanted_words.count(w);
    std::size_t distance = edit_distance(wanted, known[i]);
    if (shared > 0 || distance <= max_edits)
      near.push_back({shared, distance, i});
  }
  std::sort(near.begin(), near.end(), [](const candidate& a, const candidate& b) {
    if (a.shared != b.shared)
      return a.shared > b.shared;
    if (a.distance != b.distance)
      return a.distance < b.distance;
    return a.index < b.index;
  });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < near.size() && i < max; ++i)
    out.push_back(known[near[i].index]);
  return out;
}

std::string unknown_name_message(const std::string& what, const std::string& wanted,
                                 const std::vector<std::string>& known) {
  std::string head = "unknown " + what + " '" + wanted + "'";
  auto near = nearest_names(wanted, known);
  if (!near.empty())
    return head + "; nearest known: " + join(near);
  return head + "; known: " + join(known);
}

std::vector<text_span> unknown_product_names(std::string_view text,
                                             const std::vector<std::string>& catalog) {
  static const std::set<std::string> variant_words = {"pro", "max", "mini", "ultra",
                                                      "lite", "air", "neo", "xl"};
  // A number followed by one of these counts or measures something: "3 units", "2 x".
  static const std::set<std::string> count_words = {
      "unit", "units", "piece", "pieces", "item", "items", "copy", "copies", "pcs", "pack",
      "packs", "pair", "pairs", "times", "x", "of", "percent", "hours", "days", "years", "gb",
      "tb", "kg", "mm", "inch", "inches"};
  auto tokens = tokenize(text);
  // Two tokens are one name when only spaces or a single hyphen separate them.
  auto joined = [&](std::size_t a, std::size_t b) {
    auto gap = text.substr(tokens[a].end, tokens[b].begin - tokens[a].end);
    return gap == "-" || (!gap.empty() && gap.find_first_not_of(' ') == std::string_view::npos);
  };
  auto is_model_token = [&](std::size_t m, bool after_full_name) {
    const token& t = tokens[m];
    bool has_digit = std::any_of(t.low.begin(), t.low.end(), is_digit);
    bool all_digits = std::all_of(t.low.begin(), t.low.end(), is_digit);
    if (variant_words.count(t.low))
      return !after_full_name || std::isupper(static_cast<unsigned char>(text[t.begin])) != 0;
    if (all_digits) {
      // Short: "Slate Tab 12", not a price or a year.
      if (t.low.size() > (after_full_name ? 2u : 3u))
        return false;
      char after = t.end < text.size() ? text[t.end] : ' ';
      bool decimal = (after == '.' || after == ',') && t.end + 1 < text.size() && is_digit(text[t.end + 1]);
      if (after == '%' || decimal)
        return false;
      return !(m + 1 < tokens.size() && joined(m, m + 1) && count_words.count(tokens[m + 1].low));
    }
    if (!has_digit || t.low.size() > 4)
      return false;
    if (!after_full_name)
      return true;
    bool quantity = t.low[0] == 'x' && std::all_of(t.low.begin() + 1, t.low.end(), is_digit);
    return is_alpha(t.low[0]) && !quantity;
  };

  std::vector<std::vector<std::string>> catalog_words;
  for (auto& name : catalog) {
    std::vector<std::string> words;
    for (auto& t : tokenize(name))
      words.push_back(t.low);
    if (!words.empty())
      catalog_words.push_back(std::move(words));
  }
  // A catalog name or the start of one ("Zephyr Phone" of "Zephyr Phone 8") is known.
  auto known = [&](std::size_t from, std::size_t to) {
    for (auto& words : catalog_words) {
      if (to - from > words.size())
        continue;
      bool prefix = true;
      for (std::size_t k = from; k < to && prefix; ++k)
        prefix = tokens[k].low == words[k - from];
      if (prefix)
        return true;
    }
    return false;
  };

  std::vector<text_span> found;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    for (auto& words : catalog_words) {
      std::size_t j = 0;
      while (j < words.size() && i + j < tokens.size() && tokens[i + j].low == words[j]
             && (j == 0 || joined(i + j - 1, i + j)))
        ++j;
      std::size_t m = i + j;
      if (j == 0 || m >= tokens.size() || !joined(m - 1, m) || !is_model_token(m, j == words.size()))
        continue;
      std::size_t end = m + 1;
      while (end < tokens.size() && joined(end - 1, end) && is_model_token(end, true))
        ++end;
      if (!known(i, end))
        found.push_back({tokens[i].begin, tokens[end - 1].end});
    }
  }
  // Longest first at each start, then drop spans that overlap an earlier one.
  std::sort(found.begin(), found.end(), [](const text_span& a, const text_span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<text_span> out;
  for (auto& s : found)
    if (out.empty() || s.begin >= out.back().end)
      out.push_back(s);
  return out;
}

} // namespace eventide::core
