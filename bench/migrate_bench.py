"""Migration benchmark (not a test): keys/s of `rediscluster copy` and `reshard` on small keys,
beside the naive approach of the seed's tools (one key at a time: DUMP, PTTL, RESTORE, DEL), in
the same run.

Run: ``make bench-migrate`` or ``.venv/bin/python bench/migrate_bench.py [--keys 1000000]
[--naive-keys 50000]``. Starts its own redis-servers on BENCH_BASE_PORT..+5 (tests/ports.env):
one source server and five masters; stops them at the end. The naive runs use a sample
(``--naive-keys``) because at a few thousand keys/s a million keys would take minutes.
"""

from __future__ import annotations

import argparse
import binascii
import time

import redis

import rediscluster.tools
from python_bench import bench_base_port, start_servers, stop_servers


def fill(port, n):
    """n small string keys, written server-side in chunks (fast)."""
    client = redis.Redis(port=port)
    for first in range(0, n, 100_000):
        last = min(first + 100_000, n)
        client.eval(
            "for i=tonumber(ARGV[1]),tonumber(ARGV[2]) do "
            "redis.call('SET','key:'..i,'value:'..i) end",
            0,
            first,
            last - 1,
        )


def cluster(ports):
    return {
        "nodes": {f"node_{i + 1}": {"host": "127.0.0.1", "port": p} for i, p in enumerate(ports)}
    }


def flush(ports):
    for port in ports:
        redis.Redis(port=port).flushall()


def naive_copy(source_port, ports, n):
    """The seed's redis-copy: one key at a time."""
    source = redis.Redis(port=source_port)
    targets = [redis.Redis(port=p) for p in ports]
    started = time.perf_counter()
    for i in range(n):
        key = f"key:{i}"
        payload, ttl = source.dump(key), source.pttl(key)
        target = targets[(binascii.crc32(key.encode()) & 0xFFFFFFFF) % len(targets)]
        target.restore(key, max(ttl, 0), payload, replace=True)
    return n / (time.perf_counter() - started)


def naive_reshard(old_ports, new_ports, n):
    """The seed's redis-sharding: one key at a time, moved if its node changes."""
    old = [redis.Redis(port=p) for p in old_ports]
    new = [redis.Redis(port=p) for p in new_ports]
    started, moved = time.perf_counter(), 0
    for i in range(n):
        key = f"key:{i}"
        crc = binascii.crc32(key.encode()) & 0xFFFFFFFF
        src, dst = old_ports[crc % len(old)], new_ports[crc % len(new)]
        if src == dst:
            continue
        source = old[crc % len(old)]
        payload, ttl = source.dump(key), source.pttl(key)
        if payload is None:
            continue
        new[crc % len(new)].restore(key, max(ttl, 0), payload, replace=True)
        source.delete(key)
        moved += 1
    return n / (time.perf_counter() - started), moved


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--naive-keys", type=int, default=50_000)
    args = parser.parse_args()
    base = bench_base_port()
    source, masters = base, [base + 1 + i for i in range(5)]
    processes = start_servers([source, *masters])
    try:
        fill(source, args.keys)
        three, five = cluster(masters[:3]), cluster(masters)
        url = f"redis://127.0.0.1:{source}"
        copied = rediscluster.tools.copy(url, three)["copy"]
        print(f"copy    {copied['copied']:>9} keys  ours  {copied['keys_per_second']:>9.0f} keys/s")
        resharded = rediscluster.tools.reshard(three, five)
        print(
            f"reshard {resharded['scanned']:>9} keys  ours  "
            f"{resharded['scanned'] / resharded['seconds']:>9.0f} keys/s scanned, "
            f"{resharded['keys_per_second']:.0f} moved/s ({resharded['moved']} moved)"
        )
        flush(masters)
        rate = naive_copy(source, masters[:3], args.naive_keys)
        print(f"copy    {args.naive_keys:>9} keys  naive {rate:>9.0f} keys/s")
        rate, moved = naive_reshard(masters[:3], masters, args.naive_keys)
        print(
            f"reshard {args.naive_keys:>9} keys  naive {rate:>9.0f} keys/s scanned ({moved} moved)"
        )
    finally:
        stop_servers(processes)


if __name__ == "__main__":
    main()
