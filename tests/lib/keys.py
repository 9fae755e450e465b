#!/usr/bin/env python3
"""Record keys by partition, as Kafka's Java client and Eventide (storage/partitioner.cpp)
place them: toPositive(murmur2(key)) % partitions.

  keys.py partition KEY PARTITIONS          the partition of KEY
  keys.py like KEY PARTITIONS COUNT PREFIX  COUNT keys PREFIX<n> (n = 1, 2, ...) in KEY's
                                            partition, one a line
"""
import sys


def murmur2(data: bytes) -> int:
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = length - rest
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def main(argv):
    if len(argv) == 4 and argv[1] == "partition":
        print(partition(argv[2], int(argv[3])))
    elif len(argv) == 6 and argv[1] == "like":
        key, n, count, prefix = argv[2], int(argv[3]), int(argv[4]), argv[5]
        want, i, found = partition(key, n), 0, 0
        while found < count:
            i += 1
            if partition(f"{prefix}{i}", n) == want:
                print(f"{prefix}{i}")
                found += 1
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
