// Kafka's default partitioner, byte for byte: records keyed the same way land in the same
// partition whether a Java client, librdkafka (murmur2_random) or the embedded log wrote them.
// Also Kafka's topic name rule, which both backends enforce.
#include <cstdint>
#include <cstring>

#include "storage/log.hpp"

namespace eventide::storage {

int32_t murmur2(const void* data, size_t len) {
  // Unsigned 32-bit arithmetic reproduces Java's wrapping int math; `>>` on uint32_t is Java's
  // `>>>`.
  const auto* bytes = static_cast<const unsigned char*>(data);
  const uint32_t seed = 0x9747b28cu;
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  // Java takes data.length as an int; keys here are far below 2 GiB.
  uint32_t h = seed ^ static_cast<uint32_t>(len);

  const size_t blocks = len / 4;
  for (size_t i = 0; i < blocks; ++i) {
    const unsigned char* p = bytes + i * 4;
    uint32_t k = uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16)
                 | (uint32_t(p[3]) << 24); // little-endian, as Utils.murmur2 assembles it
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }

  const unsigned char* tail = bytes + blocks * 4;
  switch (len % 4) {
    case 3:
      h ^= uint32_t(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t(tail[0]);
      h *= m;
  }

  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;

  int32_t result;
  std::memcpy(&result, &h, sizeof result); // two's-complement reinterpretation, like Java's int
  return result;
}

partition_id partition_for_key(const std::string& key, int32_t partitions) {
  if (partitions <= 0)
    return partition_id{0}; // no partitions to choose from; callers validate counts first
  // Utils.toPositive: clear the sign bit (not abs(), which would overflow for INT_MIN).
  const int32_t positive = murmur2(key.data(), key.size()) & 0x7fffffff;
  return partition_id{positive % partitions};
}

outcome<void> check_topic_name(const std::string& topic) {
  // (It also keeps '/' out of names, which the embedded log's key layout relies on.)
  if (topic.empty())
    return fail("topic name is empty");
  if (topic.size() > 249)
    return fail("topic name '" + topic + "' is longer than 249 characters");
  if (topic == "." || topic == "..")
    return fail("topic name '" + topic + "' is not allowed");
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-';
    if (!ok)
      return fail("topic name '" + topic + "' may only contain letters, digits, '.', '_' and '-'");
  }
  return {};
}

} // namespace eventide::storage
