"""Redis Cluster benchmark (not a test): ``rediscluster.StrictRedisCluster`` on a Redis Cluster
against redis-py's own ``redis.cluster.RedisCluster`` (hiredis parser) on the same cluster, in
one run.

The cluster is ``tests/cluster.sh`` with ``CLUSTER_KIND=redis_cluster`` on BENCH_BASE_PORT..+5
(3 masters, 3 replicas; both clients read from masters). Workloads: GET and SET (``--n`` single
calls each) and MGET of 1000 keys over every slot they fall in (redis-py: ``mget_nonatomic``,
which groups keys by slot and pipelines them per node, as ours does), ``--n // 100`` times. An
"op" is one key. Rounds are interleaved (every workload on both clients per round, the order
rotating) and each figure is the median over the rounds: throughput, and this process's CPU
per op (the Rust engine's threads included). Every result is checked outside the timed part
(GET and MGET must answer what SET wrote), so a broken client cannot look fast.

Run: ``make bench-redis-cluster`` or ``.venv/bin/python bench/redis_cluster_bench.py [--rounds 5]
[--n 20000]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import redis.cluster

import rediscluster
from python_bench import bench_base_port

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SH = ROOT / "tests" / "cluster.sh"
BATCH = 1000


def cluster_script(action, base, env):
    return subprocess.run(
        ["bash", str(CLUSTER_SH), action, str(base)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def workloads(n):
    keys = [f"bench:{i}" for i in range(n)]
    batches = [keys[i : i + BATCH] for i in range(0, BATCH * max(1, n // 100), BATCH)]
    batches = [b for b in batches if len(b) == BATCH] or [keys[:BATCH]]

    def set_all(client, value):
        for key in keys:
            client.set(key, value)

    def get_all(client, value):
        return [client.get(key) for key in keys]

    def mget_all(client, value):
        fetch = (
            client.mget
            if isinstance(client, rediscluster.StrictRedisCluster)
            else client.mget_nonatomic
        )
        return [fetch(batch) for batch in batches]

    def check_get(result, value):
        assert all(v == value for v in result), "GET answered another value"

    def check_mget(result, value):
        assert all(v == value for batch in result for v in batch), "MGET answered another value"

    return {
        "SET": (len(keys), set_all, None),
        "GET": (len(keys), get_all, check_get),
        f"MGET x{BATCH}": (BATCH * len(batches), mget_all, check_mget),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.n < BATCH:
        raise SystemExit(f"--n must be at least {BATCH}")
    base = bench_base_port()
    env = dict(
        os.environ,
        CLUSTER_KIND="redis_cluster",
        REDISCLUSTER_DEV_DIR=tempfile.mkdtemp(prefix="rediscluster-bench-rc-"),
    )
    cluster_script("start", base, env)
    try:
        config = json.loads(cluster_script("config", base, env))
        clients = {
            "ours": rediscluster.StrictRedisCluster(cluster=config),
            "redis-py RedisCluster": redis.cluster.RedisCluster(host="127.0.0.1", port=base),
        }
        jobs = workloads(args.n)
        samples = {(job, name): [] for job in jobs for name in clients}
        names = list(clients)
        for round_number in range(args.rounds + 1):
            order = names[round_number % 2 :] + names[: round_number % 2]
            value = f"v{round_number}".encode()
            for job, (ops, run, check) in jobs.items():
                for name in order:
                    gc.collect()
                    wall, cpu = time.perf_counter(), time.process_time()
                    result = run(clients[name], value)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    if check:
                        check(result, value)
                    if round_number:  # round 0 warms connections and maps up, untimed
                        samples[(job, name)].append((ops / wall, cpu / ops))
            if round_number:
                print(f"round {round_number}/{args.rounds}", file=sys.stderr, flush=True)
        results = {}
        for job in jobs:
            for name in names:
                runs = samples[(job, name)]
                results.setdefault(job, {})[name] = {
                    "ops_per_s": statistics.median(r for r, _ in runs),
                    "cpu_us_per_op": statistics.median(c for _, c in runs) * 1e6,
                }
        if args.json:
            print(json.dumps(results, indent=2))
            return
        print(
            f"{'workload':<12} {'client':<24} {'ops/s':>12} {'CPU us/op':>10} {'vs redis-py':>12}"
        )
        for job, by_client in results.items():
            theirs = by_client["redis-py RedisCluster"]["ops_per_s"]
            for name, figures in by_client.items():
                ratio = figures["ops_per_s"] / theirs
                print(
                    f"{job:<12} {name:<24} {figures['ops_per_s']:>12,.0f}"
                    f" {figures['cpu_us_per_op']:>10.2f} {ratio:>11.2f}x"
                )
    finally:
        cluster_script("stop", base, env)


if __name__ == "__main__":
    main()
