// Names a question uses that the bundled data does not know (a product, city or currency): how
// to find them and how to say so. The rule: an unknown name is reported with the nearest known
// names, never silently replaced by a known one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace eventide::core {

/// Levenshtein distance between the ASCII lower-case forms of `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Up to `max` names of `known` that are near `wanted`, nearest first: those sharing a word with
/// it (more shared words first), or within a third of its length in edits. Ties keep the order
/// of `known`.
std::vector<std::string> nearest_names(std::string_view wanted, const std::vector<std::string>& known,
                                       std::size_t max = 3);

/// "unknown <what> '<wanted>'; nearest known: A, B" when some known names are near, else
/// "unknown <what> '<wanted>'; known: <every known name>".
std::string unknown_name_message(const std::string& what, const std::string& wanted,
                                 const std::vector<std::string>& known);

struct text_span {
  std::size_t begin = 0; // byte offsets into the text
  std::size_t end = 0;
};

/// Product-like names in `text` that are not in `catalog`: a catalog name, or its first words,
/// followed by a model token the catalog does not have: "Aurora X2" (catalog: Aurora X1),
/// "Nimbus Max" (Nimbus Pro), "Tidal Buds 3" (Tidal Buds). Model tokens are short letter+digit
/// tokens (X2, S6, 32Q), numbers of up to three digits (two after a complete name) not followed
/// by a count word ("3 units") or '%', and variant words (Pro, Max, Mini, Ultra, Lite, Air, Neo,
/// XL). After a complete catalog name they must look deliberate: "x2" there is a quantity, a
/// variant word must be capitalized, a token must start with a letter unless it is a number.
/// In text order.
std::vector<text_span> unknown_product_names(std::string_view text,
                                             const std::vector<std::string>& catalog);

} // namespace eventide::core
