#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <string>

#include "storage/log.hpp"

using eventide::storage::murmur2;
using eventide::storage::partition_for_key;

namespace {
int32_t hash_of(const std::string& s) { return murmur2(s.data(), s.size()); }
} // namespace

TEST_CASE("murmur2 matches Kafka's Utils.murmur2 test vectors", "[partitioner]") {
  // Expected values from Kafka's UtilsTest.testMurmur2; together they cover every tail length
  // (len % 4 == 0, 1, 2, 3) and more than one 4-byte block.
  CHECK(hash_of("21") == -973932308);                       // tail 2, no blocks
  CHECK(hash_of("foobar") == -790332482);                   // 1 block + tail 2
  CHECK(hash_of("a-little-bit-long-string") == -985981536); // 6 blocks, no tail
  CHECK(hash_of("a-little-bit-longer-string") == -1486304829);
  CHECK(hash_of("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971); // tail 0
  CHECK(hash_of("abc") == 479470107);                                              // tail 3
}

TEST_CASE("murmur2 treats bytes as unsigned and includes embedded NULs", "[partitioner]") {
  // Expected values from an independent Python transcription of Utils.murmur2 (Java masks
  // each byte with 0xff, so a signed-char bug would change these).
  std::string high_bytes = "\xff\xfe\x80\x01\xc3\x9f\xee";
  std::string with_nul("a\0b", 3);
  CHECK(hash_of(high_bytes) == -1443026404);
  CHECK(hash_of(with_nul) == -19837367);
  CHECK(hash_of(with_nul) != hash_of("ab"));
}

TEST_CASE("partition_for_key is toPositive(murmur2) modulo the partition count", "[partitioner]") {
  // (hash & 0x7fffffff) % n, worked out by hand from the vectors above.
  CHECK(partition_for_key("21", 6) == 0);         // 1173551340 % 6
  CHECK(partition_for_key("foobar", 3) == 0);     // 1357151166 % 3
  CHECK(partition_for_key("a-little-bit-long-string", 7) == 1);
  CHECK(partition_for_key("a-little-bit-longer-string", 10) == 9);
  CHECK(partition_for_key("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 5) == 2);
  CHECK(partition_for_key("abc", 4) == 3);
}

TEST_CASE("partition_for_key is stable, in range and spreads keys", "[partitioner]") {
  std::map<int32_t, int> counts;
  for (int i = 0; i < 600; ++i) {
    std::string key = "conversation-" + std::to_string(i);
    int32_t p = partition_for_key(key, 6);
    REQUIRE(p >= 0);
    REQUIRE(p < 6);
    REQUIRE(partition_for_key(key, 6) == p);
    ++counts[p];
  }
  REQUIRE(counts.size() == 6);
  for (auto& [p, n] : counts)
    CHECK(n > 50); // 100 expected per partition; murmur2 does not clump
  CHECK(partition_for_key("anything", 1) == 0);
}
