// Fuzz target "math": core::evaluate, the math tool's recursive-descent evaluator, on any text
// (a planner copies the user's words into "expression"). Properties: a result is finite and
// never -0.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "core/math.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = eventide::core::evaluate(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r) {
    FUZZ_CHECK(std::isfinite(r.value()), "finite result");
    FUZZ_CHECK(!(r.value() == 0 && std::signbit(r.value())), "no -0");
  }
  return 0;
}
