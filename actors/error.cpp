// The errors every role reports (actors/error.hpp): names, construction and the text of one.
#include "actors/error.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace eventide {

const char* to_string(ec x) {
  switch (x) {
    case ec::invalid_event: return "invalid_event";
    case ec::produce_failed: return "produce_failed";
    case ec::handler_failed: return "handler_failed";
  }
  return "unknown";
}

caf::error make_error(ec x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), caf::atom("eventide"),
                    caf::make_message(std::move(context))};
}

std::string describe(const caf::error& err) {
  if (err.category() == caf::atom("eventide") && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

} // namespace eventide
