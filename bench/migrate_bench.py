"""Migration benchmark (not a test): keys/s of `rediscluster copy` and `reshard` on mixed keys
with TTLs, beside the floor the servers themselves set and the naive approach of the seed's
tools (one key at a time: DUMP, PTTL, RESTORE, DEL), in the same run.

Run: ``make bench-migrate`` or ``.venv/bin/python bench/migrate_bench.py [--keys 300000]
[--naive-keys 30000] [--binary PATH] [--compare OTHER/rediscluster]``. Starts its own
redis-servers on BENCH_BASE_PORT..+5 (tests/ports.env): one source server and five masters;
stops them at the end.

The data: strings, hashes, lists, sets and sorted sets (one in five each), half of them with a
TTL. ``copy`` goes from the source server into 3 masters, ``reshard`` from those 3 to 5.

The floor: the CPU time the redis-servers themselves spent during the job (INFO cpu, every
server), per key. On a machine of C cores no client can go faster than C / that time, even
one that costs nothing: that is the "floor" figure (the issue measured it near 140k keys/s on
this 2-core box). ``--compare`` runs another build of the tool (say, an older commit's) on the
same data in the same run.
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import redis

from python_bench import bench_base_port, start_servers, stop_servers

FILL = """
local first, last, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = first, last do
  local key, kind = 'key:' .. i, i % 5
  if kind == 0 then redis.call('SET', key, 'value:' .. i)
  elseif kind == 1 then redis.call('HSET', key, 'a', i, 'b', 'field ' .. i, 'c', 'x')
  elseif kind == 2 then redis.call('RPUSH', key, 'one', 'two', i)
  elseif kind == 3 then redis.call('SADD', key, 'm1', 'm2', i)
  else redis.call('ZADD', key, 1, 'a', 2, 'b', i, 'c') end
  if i % 2 == 0 then redis.call('PEXPIREAT', key, now + 3600000 + i) end
end
"""


def fill(port, n):
    """n mixed keys, half with a TTL, written server-side in chunks (fast)."""
    client = redis.Redis(port=port)
    now = int(time.time() * 1000)
    for first in range(0, n, 50_000):
        client.eval(FILL, 0, first, min(first + 50_000, n) - 1, now)


def cluster(ports):
    return {
        "nodes": {f"node_{i + 1}": {"host": "127.0.0.1", "port": p} for i, p in enumerate(ports)}
    }


def flush(ports):
    for port in ports:
        redis.Redis(port=port).flushall()


def server_cpu(ports):
    """Seconds of CPU (user + system) the servers have used so far, in all."""
    total = 0.0
    for port in ports:
        info = redis.Redis(port=port).info("cpu")
        total += info["used_cpu_user"] + info["used_cpu_sys"]
    return total


def run_tool(binary, args, workdir):
    """`rediscluster ... --json` as a separate process (the release build's speed, whichever
    build is asked for); its JSON summary."""
    out = subprocess.run(
        [binary, "--json", *args], check=True, capture_output=True, text=True, cwd=workdir
    ).stdout
    return json.loads(out)


def measure(binary, label, source, masters, keys, workdir):
    """copy (1 server → 3 masters), then reshard (3 → 5), each with the servers' CPU floor."""
    three, five = Path(workdir, "three.json"), Path(workdir, "five.json")
    three.write_text(json.dumps(cluster(masters[:3])))
    five.write_text(json.dumps(cluster(masters)))
    flush(masters)
    every = [source, *masters]
    cores = os.cpu_count() or 1
    cpu = server_cpu(every)
    started = time.perf_counter()
    copied = run_tool(
        binary, ["copy", "--from", f"redis://127.0.0.1:{source}", "--to", str(three)], workdir
    )["copy"]
    seconds = time.perf_counter() - started
    per_key = (server_cpu(every) - cpu) / copied["copied"]
    print(
        f"{label:8} copy    {copied['copied']:>8} keys {copied['copied'] / seconds:>9.0f} keys/s"
        f"   servers' floor {cores / per_key:>9.0f} keys/s ({per_key * 1e6:.1f} us/key)"
    )
    cpu = server_cpu(every)
    started = time.perf_counter()
    moved = run_tool(binary, ["reshard", "--from", str(three), "--to", str(five)], workdir)
    seconds = time.perf_counter() - started
    per_key = (server_cpu(every) - cpu) / max(moved["moved"], 1)
    print(
        f"{label:8} reshard {moved['moved']:>8} moved {moved['moved'] / seconds:>8.0f} keys/s"
        f"   servers' floor {cores / per_key:>9.0f} keys/s ({per_key * 1e6:.1f} us/key moved,"
        f" {moved['scanned']} scanned)"
    )
    if copied["copied"] != keys:
        raise SystemExit(f"{label}: copied {copied['copied']} of {keys}")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=300_000)
    parser.add_argument("--naive-keys", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--binary", help="the rediscluster to measure (default: the installed console script)"
    )
    parser.add_argument("--compare", help="another rediscluster binary, run on the same data")
    args = parser.parse_args()
    installed = shutil.which("rediscluster", path=str(Path(sys.executable).parent))
    ours = str(Path(args.binary).resolve()) if args.binary else installed
    if ours is None:
        raise SystemExit("the rediscluster console script is not installed (make python-install)")
    base = bench_base_port()
    source, masters = base, [base + 1 + i for i in range(5)]
    processes = start_servers([source, *masters])
    workdir = Path(os.environ.get("TMPDIR", "/tmp"), f"rediscluster-migrate-{os.getpid()}")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        fill(source, args.keys)
        print(f"{args.keys} mixed keys (5 types, half with a TTL), {os.cpu_count()} cores")
        for _ in range(args.rounds):
            measure(ours, "ours", source, masters, args.keys, workdir)
            if args.compare:
                other = str(Path(args.compare).resolve())
                measure(other, "compare", source, masters, args.keys, workdir)
        flush(masters)
        rate = naive_copy(source, masters[:3], args.naive_keys)
        print(f"naive    copy    {args.naive_keys:>8} keys {rate:>9.0f} keys/s")
    finally:
        stop_servers(processes)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
