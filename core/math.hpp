// Safe arithmetic for the `math` tool: a recursive-descent evaluator (never eval) over numbers,
// + - * / % ^ (also × ÷ **), parentheses, unary signs, constants pi and e, and the functions
// sqrt abs min max round floor ceil ln log log2 exp sin cos tan pow. Identifiers are
// case-insensitive. Failures name the problem and the 1-based character position.
#pragma once

#include <string_view>

#include "core/outcome.hpp"

namespace eventide::core {

/// Longest accepted input and deepest accepted nesting (parentheses, signs, powers, calls).
constexpr size_t max_expression_length = 2000;
constexpr int max_expression_depth = 100;

/// Evaluates `expression`, e.g. "2^-1 + sqrt(16) * max(1, 3)" -> 12.5.
/// Errors: "empty expression", "division by zero at position 3", "modulo by zero ...",
/// "unknown function 'foo' at position 1", "unknown name 'x' at position 1",
/// "expected ')' at position 7", "unexpected 'x' at position 3",
/// "result is not a finite number", and length/nesting limits.
outcome<double> evaluate(std::string_view expression);

} // namespace eventide::core
