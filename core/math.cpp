#include "core/math.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace eventide::core {
namespace {

// Thrown only inside this file and caught by evaluate(); it never crosses the public API.
struct eval_error {
  std::string reason;
};

enum class op { none, add, sub, mul, div, mod, pow };

class evaluator {
 public:
  explicit evaluator(std::string_view text) : text_(text) {}

  double run() {
    skip_space();
    if (pos_ == text_.size())
      throw eval_error{"empty expression"};
    double v = expression();
    skip_space();
    if (pos_ != text_.size())
      throw eval_error{"unexpected " + describe_here() + " at position " + position(pos_)};
    return v;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;

  // One level per parenthesis, call, sign or exponent, so hostile input cannot exhaust the stack.
  struct depth_guard {
    explicit depth_guard(evaluator& e) : e_(e) {
      if (++e_.depth_ > max_expression_depth)
        throw eval_error{"expression nests too deeply (more than "
                         + std::to_string(max_expression_depth) + " levels)"};
    }
    ~depth_guard() { --e_.depth_; }
    evaluator& e_;
  };

  // 1-based character (not byte) position, so multi-byte '×' counts as one.
  std::string position(size_t byte_offset) const {
    size_t chars = 0;
    for (size_t i = 0; i < byte_offset && i < text_.size(); ++i)
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80)
        ++chars;
    return std::to_string(chars + 1);
  }

  std::string describe_here() const {
    if (pos_ >= text_.size())
      return "end of expression";
    size_t len = 1;
    auto c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0xF0)
      len = 4;
    else if (c >= 0xE0)
      len = 3;
    else if (c >= 0xC0)
      len = 2;
    return "'" + std::string(text_.substr(pos_, len)) + "'";
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }

  bool starts_with(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }

  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c))
      throw eval_error{std::string("expected '") + c + "' at position " + position(pos_)};
  }

  // Reads a binary operator at the cursor without consuming it; `len` receives its byte length.
  op peek_operator(size_t& len) {
    skip_space();
    len = 1;
    if (pos_ >= text_.size())
      return op::none;
    if (starts_with("**")) {
      len = 2;
      return op::pow;
    }
    if (starts_with("\xC3\x97")) { // ×
      len = 2;
      return op::mul;
    }
    if (starts_with("\xC3\xB7")) { // ÷
      len = 2;
      return op::div;
    }
    if (starts_with("\xE2\x88\x92")) { // − (unicode minus)
      len = 3;
      return op::sub;
    }
    switch (text_[pos_]) {
      case '+': return op::add;
      case '-': return op::sub;
      case '*': return op::mul;
      case '/': return op::div;
      case '%': return op::mod;
      case '^': return op::pow;
      default: return op::none;
    }
  }

  // expression := term (('+' | '-') term)*
  double expression() {
    double left = term();
    for (;;) {
      size_t len = 0;
      op o = peek_operator(len);
      if (o != op::add && o != op::sub)
        return left;
      pos_ += len;
      double right = term();
      left = o == op::add ? left + right : left - right;
    }
  }

  // term := unary (('*' | '/' | '%') unary)*
  double term() {
    double left = unary();
    for (;;) {
      size_t len = 0;
      op o = peek_operator(len);
      if (o != op::mul && o != op::div && o != op::mod)
        return left;
      size_t op_pos = pos_;
      pos_ += len;
      double right = unary();
      if (o == op::mul) {
        left *= right;
      } else if (right == 0) {
        throw eval_error{std::string(o == op::div ? "division" : "modulo")
                         + " by zero at position " + position(op_pos)};
      } else {
        left = o == op::div ? left / right : std::fmod(left, right);
      }
    }
  }

  // unary := ('+' | '-') unary | power. Signs bind looser than '^', so -2^2 = -(2^2).
  double unary() {
    size_t len = 0;
    op o = peek_operator(len);
    if (o == op::add || o == op::sub) {
      depth_guard guard(*this);
      pos_ += len;
      double v = unary();
      return o == op::sub ? -v : v;
    }
    return power();
  }

  // power := primary (('^' | '**') unary)?  Right-associative via unary -> power recursion,
  // and the exponent may carry a sign: 2^-1.
  double power() {
    double base = primary();
    size_t len = 0;
    if (peek_operator(len) != op::pow)
      return base;
    depth_guard guard(*this);
    pos_ += len;
    double exponent = unary();
    return std::pow(base, exponent);
  }

  double primary() {
    skip_space();
    if (pos_ >= text_.size())
      throw eval_error{"unexpected end of expression at position " + position(pos_)};
    char c = text_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.')
      return number();
    if (c == '(') {
      depth_guard guard(*this);
      ++pos_;
      double v = expression();
      expect(')');
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_')
      return identifier();
    throw eval_error{"unexpected " + describe_here() + " at position " + position(pos_)};
  }

  double number() {
    size_t start = pos_;
    auto digit_at = [&](size_t i) {
      return i < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i]));
    };
    while (digit_at(pos_))
      ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      while (digit_at(pos_))
        ++pos_;
    }
    if (pos_ - start == 1 && text_[start] == '.')
      throw eval_error{"unexpected '.' at position " + position(start)};
    // An exponent only when digits follow, so "2e" is not silently read as 2.
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t exp = pos_ + 1;
      if (exp < text_.size() && (text_[exp] == '+' || text_[exp] == '-'))
        ++exp;
      if (digit_at(exp)) {
        pos_ = exp;
        while (digit_at(pos_))
          ++pos_;
      }
    }
    std::string literal(text_.substr(start, pos_ - start));
    return std::strtod(literal.c_str(), nullptr);
  }

  double identifier() {
    size_t start = pos_;
    while (pos_ < text_.size()
           && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    std::string name(text_.substr(start, pos_ - start));
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));

    skip_space();
    bool is_call = pos_ < text_.size() && text_[pos_] == '(';
    if (!is_call) {
      if (name == "pi")
        return M_PI;
      if (name == "e")
        return M_E;
      if (is_function(name))
        throw eval_error{"expected '(' after '" + name + "' at position " + position(pos_)};
      throw eval_error{"unknown name '" + name + "' at position " + position(start)};
    }
    if (!is_function(name))
      throw eval_error{"unknown function '" + name + "' at position " + position(start)};
    depth_guard guard(*this);
    ++pos_; // '('
    std::vector<double> args;
    skip_space();
    if (!accept(')')) {
      do
        args.push_back(expression());
      while (accept(','));
      expect(')');
    }
    return call(name, args);
  }

  static bool is_function(const std::string& name) {
    static const char* const names[] = {"sqrt", "abs",  "min", "max", "round", "floor",
                                        "ceil", "ln",   "log", "log2", "exp",  "sin",
                                        "cos",  "tan",  "pow"};
    for (const char* n : names)
      if (name == n)
        return true;
    return false;
  }

  static void arity(const std::string& name, const std::vector<double>& args, size_t n) {
    if (args.size() != n)
      throw eval_error{name + "() takes " + std::to_string(n) + " argument"
                       + (n == 1 ? "" : "s") + ", got " + std::to_string(args.size())};
  }

  static double call(const std::string& name, const std::vector<double>& args) {
    if (name == "min" || name == "max") {
      if (args.empty())
        throw eval_error{name + "() needs at least 1 argument"};
      double best = args[0];
      for (double a : args) {
        if (std::isnan(a))
          return a; // keep NaN so the final finiteness check reports it
        if (name == "min" ? a < best : a > best)
          best = a;
      }
      return best;
    }
    if (name == "pow") {
      arity(name, args, 2);
      return std::pow(args[0], args[1]);
    }
    arity(name, args, 1);
    double x = args[0];
    if (name == "sqrt")
      return std::sqrt(x);
    if (name == "abs")
      return std::fabs(x);
    if (name == "round")
      return std::round(x);
    if (name == "floor")
      return std::floor(x);
    if (name == "ceil")
      return std::ceil(x);
    if (name == "ln")
      return std::log(x);
    if (name == "log")
      return std::log10(x);
    if (name == "log2")
      return std::log2(x);
    if (name == "exp")
      return std::exp(x);
    if (name == "sin")
      return std::sin(x);
    if (name == "cos")
      return std::cos(x);
    return std::tan(x); // the only name left in is_function()
  }
};

} // namespace

outcome<double> evaluate(std::string_view expression) {
  if (expression.size() > max_expression_length)
    return fail("expression too long (" + std::to_string(expression.size())
                + " characters, at most " + std::to_string(max_expression_length) + ")");
  try {
    double v = evaluator(expression).run();
    if (!std::isfinite(v))
      return fail("result is not a finite number");
    return v == 0 ? 0.0 : v; // no "-0" in answers
  } catch (const eval_error& e) {
    return fail(e.reason);
  }
}

} // namespace eventide::core
