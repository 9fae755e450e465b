// The process's decode memo (decode_memo.hpp).
#include "schemas/decode_memo.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "schemas/codec.hpp"

namespace eventide::events {

outcome<event> decode_shared(const std::string& bytes) {
  struct memo {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const event>> by_bytes;
    std::deque<const std::string*> order; // oldest first
    size_t bytes = 0;                      // of the keys
  };
  static memo m;
  // About a second of a busy pipeline's records (a reader that batches its polls, like the
  // console's feed, comes that late), at most 8 MiB of keys.
  constexpr size_t budget = 8 << 20, max_bytes = 16 * 1024;
  if (bytes.size() > max_bytes)
    return decode(bytes);
  {
    std::lock_guard<std::mutex> lk(m.mu);
    if (auto it = m.by_bytes.find(bytes); it != m.by_bytes.end())
      return event(*it->second);
  }
  auto ev = decode(bytes);
  if (!ev)
    return ev;
  auto shared = std::make_shared<const event>(*ev);
  std::lock_guard<std::mutex> lk(m.mu);
  auto [it, added] = m.by_bytes.emplace(bytes, std::move(shared));
  if (added) {
    m.order.push_back(&it->first);
    m.bytes += bytes.size();
    while (m.bytes > budget) {
      m.bytes -= m.order.front()->size();
      m.by_bytes.erase(*m.order.front());
      m.order.pop_front();
    }
  }
  return ev;
}

} // namespace eventide::events
