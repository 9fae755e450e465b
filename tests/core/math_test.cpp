#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "core/math.hpp"

using eventide::core::evaluate;

namespace {
double value_of(const char* expr) {
  auto r = evaluate(expr);
  INFO(expr << " -> " << (r ? "ok" : r.error()));
  REQUIRE(r.ok());
  return r.value();
}
std::string error_of(const std::string& expr) {
  auto r = evaluate(expr);
  INFO(expr);
  REQUIRE_FALSE(r.ok());
  return r.error();
}
} // namespace

TEST_CASE("math: numbers and precedence", "[math]") {
  CHECK(value_of("42") == 42);
  CHECK(value_of("3.25") == 3.25);
  CHECK(value_of(".5") == 0.5);
  CHECK(value_of("1e3") == 1000);
  CHECK(value_of("2.5E-1") == 0.25);
  CHECK(value_of("1 + 2 * 3") == 7);
  CHECK(value_of("(1 + 2) * 3") == 9);
  CHECK(value_of("10 - 4 - 3") == 3);
  CHECK(value_of("100 / 10 / 5") == 2);
  CHECK(value_of("7 % 3") == 1);
  CHECK(value_of("7.5 % 2") == 1.5);
  CHECK(value_of("  2\t*\n3 ") == 6);
}

TEST_CASE("math: power binds tighter than unary minus and is right-associative", "[math]") {
  CHECK(value_of("-2^2") == -4);
  CHECK(value_of("(-2)^2") == 4);
  CHECK(value_of("2^-1") == 0.5);
  CHECK(value_of("2^3^2") == 512);
  CHECK(value_of("2**3") == 8);
  CHECK(value_of("--3") == 3);
  CHECK(value_of("+3 - -2") == 5);
  CHECK(value_of("2 * -3") == -6);
}

TEST_CASE("math: aliases", "[math]") {
  CHECK(value_of("6 \xC3\x97 7") == 42);  // ×
  CHECK(value_of("84 \xC3\xB7 2") == 42); // ÷
}

TEST_CASE("math: functions and constants", "[math]") {
  CHECK(value_of("sqrt(16)") == 4);
  CHECK(value_of("abs(-3.5)") == 3.5);
  CHECK(value_of("min(4, 2, 8)") == 2);
  CHECK(value_of("max(4)") == 4);
  CHECK(value_of("max(4, 2, 8)") == 8);
  CHECK(value_of("round(2.5)") == 3);
  CHECK(value_of("floor(-1.5)") == -2);
  CHECK(value_of("ceil(1.2)") == 2);
  CHECK(value_of("ln(e)") == Approx(1));
  CHECK(value_of("log(1000)") == Approx(3));
  CHECK(value_of("log2(8)") == 3);
  CHECK(value_of("exp(0)") == 1);
  CHECK(value_of("sin(0)") == 0);
  CHECK(value_of("cos(0)") == 1);
  CHECK(value_of("tan(0)") == 0);
  CHECK(value_of("pow(2, 10)") == 1024);
  CHECK(value_of("pi") == Approx(M_PI));
  CHECK(value_of("SQRT(9) + PI - Pi") == 3);
  CHECK(value_of("2 * (3 + max(1, sqrt(16))) ^ 2") == 98);
}

TEST_CASE("math: errors name the problem and position", "[math]") {
  CHECK(error_of("") == "empty expression");
  CHECK(error_of("   ") == "empty expression");
  CHECK(error_of("1 / 0") == "division by zero at position 3");
  CHECK(error_of("5 % (2 - 2)") == "modulo by zero at position 3");
  CHECK(error_of("foo(1)") == "unknown function 'foo' at position 1");
  CHECK(error_of("2 * x") == "unknown name 'x' at position 5");
  CHECK(error_of("(1 + 2") == "expected ')' at position 7");
  CHECK(error_of("2 x") == "unexpected 'x' at position 3");
  CHECK(error_of("1 +") == "unexpected end of expression at position 4");
  CHECK(error_of("(1))") == "unexpected ')' at position 4");
  CHECK(error_of("sqrt 4") == "expected '(' after 'sqrt' at position 6");
  CHECK(error_of("pow(2)") == "pow() takes 2 arguments, got 1");
  CHECK(error_of("sqrt(1, 2)") == "sqrt() takes 1 argument, got 2");
  CHECK(error_of("min()") == "min() needs at least 1 argument");
  CHECK(error_of("sqrt(-1)") == "result is not a finite number");
  CHECK(error_of("10 ^ 400") == "result is not a finite number");
  CHECK(error_of("max(1, sqrt(-1))") == "result is not a finite number");
  CHECK(error_of("1 $ 2") == "unexpected '$' at position 3");
  CHECK(error_of("\xC3\x97 2") == "unexpected '\xC3\x97' at position 1");
}

TEST_CASE("math: length and nesting limits", "[math]") {
  std::string long_expr = "1";
  while (long_expr.size() <= 2000)
    long_expr += "+1";
  CHECK(error_of(long_expr).find("expression too long") == 0);

  std::string deep(101, '(');
  deep += "1" + std::string(101, ')');
  CHECK(error_of(deep).find("expression nests too deeply") == 0);

  std::string ok_depth(100, '(');
  ok_depth += "2" + std::string(100, ')');
  CHECK(value_of(ok_depth.c_str()) == 2);

  CHECK(error_of(std::string(500, '-') + "1").find("nests too deeply") != std::string::npos);
}
