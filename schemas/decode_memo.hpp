// events::decode for a record that other readers of this process decode too: the consumer
// bridges of every group that reads a topic (up to four on conversation-events) and the
// console's feed get the same bytes, and decode + validate is the largest part of a hop's CPU.
#pragma once

#include <string>

#include "core/outcome.hpp"
#include "model/events.hpp"

namespace eventide::events {

/// decode(bytes), or the event decoded from the same bytes a moment ago (the latest records up
/// to 16 KiB each and 8 MiB in all, compared in full): decoding is a function of the bytes alone, so a hit gives
/// what a decode would. Thread-safe.
outcome<event> decode_shared(const std::string& bytes);

} // namespace eventide::events
