"""Instruction counts of the Python client's hot paths (not a test): a noise-free check that a
change to the client class (its bases, its attributes) does not cost GET, SET, MGET or a
pipeline anything, on a shared machine where wall-clock benches are too noisy to tell.

Run it twice under callgrind, with and without the work, and subtract:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/python_callgrind.py --ops 2000
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/python_callgrind.py --ops 0

(the difference of the "Collected" totals, divided by the ops, is the cost of one op of each
workload; ``--only get`` measures one workload). It starts three masters on BENCH_BASE_PORT..+2
(tests/ports.env) and stops them by their own process handles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import rediscluster

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
import redis_servers  # noqa: E402

WORKLOADS = ("get", "set", "mget", "pipeline")


def _base_port():
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        if line.startswith("BENCH_BASE_PORT="):
            return int(line.split("=", 1)[1])
    raise SystemExit("BENCH_BASE_PORT missing from tests/ports.env")


def run(client, workload, ops):
    """``ops`` operations: single GETs or SETs, or MGETs / pipelines of 100 keys each."""
    keys = [f"key:{i}" for i in range(100)]
    if workload == "get":
        for i in range(ops):
            client.get(keys[i % 100])
    elif workload == "set":
        for i in range(ops):
            client.set(keys[i % 100], "value")
    elif workload == "mget":
        for _ in range(ops // 100):
            client.mget(keys)
    elif workload == "pipeline":
        for _ in range(ops // 100):
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.set(key, "value")
            pipe.execute()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--only", choices=WORKLOADS)
    options = parser.parse_args()
    base = _base_port()
    servers = [redis_servers.Server(base + i) for i in range(3)]
    try:
        nodes = {f"node_{i + 1}": {"host": "127.0.0.1", "port": base + i} for i in range(3)}
        client = rediscluster.StrictRedisCluster(cluster={"nodes": nodes}, mastersonly=True)
        # Warm up every path once (connections, imports, caches), outside the difference.
        for workload in WORKLOADS:
            run(client, workload, 100)
        for workload in WORKLOADS if options.only is None else (options.only,):
            run(client, workload, options.ops)
        client.close()
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
