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
/// what a decode would. Bytes this process encoded a moment ago (note_encoded) are read
/// without the schema validations, which encode() ran on the same event. Thread-safe.
outcome<event> decode_shared(const std::string& bytes);

/// Notes that encode() produced `bytes` (so they passed the schema validations): the first
/// decode_shared() of the same bytes reads them with decode_handled(), which gives the same
/// event as decode() for bytes that pass them. Bytes from anywhere else are validated.
void note_encoded(const std::string& bytes);

} // namespace eventide::events
