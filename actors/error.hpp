// The errors every role reports, as CAF errors of the "eventide" category (Tenzir's error.hpp
// habit): the codes, their construction and the text of one.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace eventide {

/// Errors of the eventide category (the CLI registers the category with CAF for readable
/// rendering).
enum class ec : uint8_t {
  invalid_event = 1, // a producer built an event its schema rejects (a bug at the source)
  produce_failed,    // the log did not acknowledge a record
  handler_failed,    // a role could not handle a record permanently (-> dead-letter queue)
};

const char* to_string(ec x);
caf::error make_error(ec x, std::string context);
/// The context string of an eventide error, or CAF's rendering of any other error.
std::string describe(const caf::error& err);

} // namespace eventide
