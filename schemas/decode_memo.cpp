// The process's decode memo (decode_memo.hpp).
#include "schemas/decode_memo.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "schemas/codec.hpp"

namespace eventide::events {

namespace {

// The latest records' bytes, each with its event, or with none yet when this process encoded
// them and nobody has decoded them since.
struct memo {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const event>> by_bytes;
  std::deque<const std::string*> order; // oldest first
  size_t bytes = 0;                      // of the keys

  // About a second of a busy pipeline's records (a reader that batches its polls, like the
  // console's feed, comes that late), at most 8 MiB of keys.
  static constexpr size_t budget = 8 << 20, max_bytes = 16 * 1024;

  // Stores `ev` for `key` (mu held); an entry already there gets `ev` if it has no event yet.
  void put(const std::string& key, std::shared_ptr<const event> ev) {
    auto [it, added] = by_bytes.emplace(key, ev);
    if (!added) {
      if (!it->second)
        it->second = std::move(ev);
      return;
    }
    order.push_back(&it->first);
    bytes += key.size();
    while (bytes > budget) {
      bytes -= order.front()->size();
      by_bytes.erase(*order.front());
      order.pop_front();
    }
  }
};

memo& the_memo() {
  static memo m;
  return m;
}

} // namespace

void note_encoded(const std::string& bytes) {
  if (bytes.size() > memo::max_bytes)
    return;
  auto& m = the_memo();
  std::lock_guard<std::mutex> lk(m.mu);
  m.put(bytes, nullptr);
}

outcome<event> decode_shared(const std::string& bytes) {
  if (bytes.size() > memo::max_bytes)
    return decode(bytes);
  auto& m = the_memo();
  bool encoded_here = false;
  {
    std::lock_guard<std::mutex> lk(m.mu);
    if (auto it = m.by_bytes.find(bytes); it != m.by_bytes.end()) {
      if (it->second)
        return event(*it->second);
      encoded_here = true;
    }
  }
  auto ev = encoded_here ? decode_handled(bytes) : decode(bytes);
  if (!ev)
    return ev;
  auto shared = std::make_shared<const event>(*ev);
  std::lock_guard<std::mutex> lk(m.mu);
  m.put(bytes, std::move(shared));
  return ev;
}

} // namespace eventide::events
