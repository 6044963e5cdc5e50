"""asyncio benchmark (not a test): rediscluster.asyncio vs redis.asyncio + hiredis, in one run.

Clients, side by side on one event loop per run, in the same process:

* ``ours``: ``rediscluster.asyncio.StrictRedisCluster`` over three masters (``mastersonly``);
* ``redis.asyncio one server``: ``redis.asyncio.Redis`` (hiredis parser) on one server, with a
  connection per concurrent task allowed (its pool refuses more than its limit otherwise);
* ``redis.asyncio sharded by hand``: three ``redis.asyncio.Redis`` over the same three masters,
  each key routed by the placement contract ``crc32(key) % 3``, an MGET split per master and
  gathered concurrently.

Workloads, each run by ``--tasks`` (1000) concurrent tasks on one loop: ``GET/SET`` (each task
SETs then GETs its own key, ``--ops`` (50) times; an op is one command) and ``MGET x100`` (each
task MGETs 100 keys, ``--mget-ops`` (10) times; an op is one key). While a workload runs, a
ticker task sleeps 1 ms at a time and records how late each wake-up is: the event loop's lag,
which a client that blocks the loop (or floods it) makes long. Reported: ops/s, this process's
CPU time per op (all threads, the engine's included), and the ticker's p99 lag, each the median
over interleaved rounds; ratio = ops/s against redis.asyncio on one server.

Every reply is checked (GET returns what the same task SET, MGET what was written), the same
way for every client, and the counts verified after each run: a broken client cannot look
fast.

Run: ``make bench-python-async``, or ``.venv/bin/python bench/python_async_bench.py [--rounds 5]
[--tasks 1000] [--ops 50] [--mget-ops 10] [--engine-threads N] [--uvloop] [--json]``. Servers: as
``python_bench.py`` (BENCH_BASE_PORT..+3, started and stopped here).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import redis
import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import python_bench  # noqa: E402  (servers, placement and checks shared with the sync bench)
import rediscluster  # noqa: E402
import rediscluster.asyncio  # noqa: E402

OURS = "ours"
BASELINE = "redis.asyncio one server"
SHARDED = "redis.asyncio sharded by hand"
TAGS = {OURS: "ou", BASELINE: "rp", SHARDED: "rs"}
MGET_KEYS = 100
# The targets for ours: throughput ratio, and the ticker's p99 lag.
TARGET_RATIO = 1.5
TARGET_LAG_MS = 5.0


class ShardedByHand:
    """redis.asyncio over several masters, placed by the contract."""

    def __init__(self, ports, max_connections):
        self.clients = [
            redis.asyncio.Redis(port=port, max_connections=max_connections) for port in ports
        ]

    def client_for(self, key):
        return self.clients[python_bench.node_index(key, len(self.clients))]

    async def set(self, key, value):
        return await self.client_for(key).set(key, value)

    async def get(self, key):
        return await self.client_for(key).get(key)

    async def mset(self, mapping):
        for key, value in mapping.items():
            await self.client_for(key).set(key, value)

    async def mget(self, keys):
        groups = {}
        for position, key in enumerate(keys):
            groups.setdefault(python_bench.node_index(key, len(self.clients)), []).append(position)
        nodes = list(groups)
        replies = await asyncio.gather(
            *(self.clients[node].mget([keys[p] for p in groups[node]]) for node in nodes)
        )
        out = [None] * len(keys)
        for node, reply in zip(nodes, replies, strict=True):
            for position, value in zip(groups[node], reply, strict=True):
                out[position] = value
        return out

    async def aclose(self):
        for client in self.clients:
            await client.aclose()


async def ticker(lags, stop):
    """Sleeps 1 ms at a time; records how late each wake-up is."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - started - 0.001)


async def timed(work):
    """Awaits ``work`` (a coroutine, not started yet) with the ticker: (wall, cpu, p99 lag in
    seconds, result)."""
    gc.collect()
    lags, stop = [], asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    await asyncio.sleep(0.005)
    wall, cpu = time.perf_counter(), time.process_time()
    result = await work
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.set()
    await tick
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else 0.0
    return wall, cpu, p99, result


def make_workloads(tasks, ops, mget_ops):
    """name -> (ops per run, run(client, keys, value) coroutine, check(result, value)). Each
    task compares every reply with what it expects as it comes (the same small cost for every
    client) and counts the good ones: no run keeps a million replies alive, which would only
    measure the garbage collector walking them."""

    async def get_set(client, keys, value):
        expected = value.encode()

        async def task(key):
            good = 0
            for _ in range(ops):
                await client.set(key, value)
                good += await client.get(key) == expected
            return good

        return await asyncio.gather(*(task(keys[i]) for i in range(tasks)))

    def check_get_set(results, value):
        python_bench.require(results == [ops] * tasks, "GET did not return what SET wrote")

    async def mget(client, keys, value):
        expected = [value.encode()] * MGET_KEYS

        async def task(first):
            batch = [keys[(first + j) % len(keys)] for j in range(MGET_KEYS)]
            good = 0
            for _ in range(mget_ops):
                good += await client.mget(batch) == expected
            return good

        return await asyncio.gather(*(task(i) for i in range(tasks)))

    def check_mget(results, value):
        python_bench.require(results == [mget_ops] * tasks, "MGET did not return what MSET wrote")

    return {
        "GET/SET": (tasks * ops * 2, get_set, check_get_set),
        "MGET x100": (tasks * mget_ops * MGET_KEYS, mget, check_mget),
    }


async def run_rounds(clients, keys, workloads, rounds):
    names = list(clients)
    for name in names:
        # Untimed: connections opened, code paths warm, MGET's keys written.
        await clients[name].mset(dict.fromkeys(keys[name], "warm-up"))
        for _, run, _ in workloads.values():
            await run(clients[name], keys[name], "warm-up")
    samples = {(w, name): [] for w in workloads for name in names}
    for round_number in range(1, rounds + 1):
        started = time.perf_counter()
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for workload, (ops, run, check) in workloads.items():
            for name in order:
                client = clients[name]
                value = f"{TAGS[name]}:{round_number:03d}:".ljust(16, "x")
                if workload.startswith("MGET"):
                    await client.mset(dict.fromkeys(keys[name], value))
                wall, cpu, lag, result = await timed(run(client, keys[name], value))
                check(result, value)
                samples[(workload, name)].append((wall / ops, cpu / ops, lag))
        print(
            f"round {round_number}/{rounds}: {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    return samples


def summarize(samples, workloads, names):
    results = {}
    for workload in workloads:
        for name in names:
            runs = samples[(workload, name)]
            wall = statistics.median(w for w, _, _ in runs)
            results.setdefault(workload, {})[name] = {
                "ops_per_s": 1 / wall,
                "cpu_us_per_op": statistics.median(c for _, c, _ in runs) * 1e6,
                "lag_p99_ms": statistics.median(lag for _, _, lag in runs) * 1e3,
                "ops_per_s_rounds": [1 / w for w, _, _ in runs],
                "lag_p99_ms_rounds": [lag * 1e3 for _, _, lag in runs],
            }
        base = results[workload][BASELINE]["ops_per_s"]
        for figures in results[workload].values():
            figures["ratio"] = figures["ops_per_s"] / base
    return results


def print_table(results, meta):
    print(
        f"loop: {meta['loop']}; hiredis: {meta['hiredis']}; tasks: {meta['tasks']}; per task: "
        f"{meta['ops']} SET+GET, {meta['mget_ops']} MGET; engine threads: "
        f"{meta['engine_threads']}; rounds: {meta['rounds']} "
        "(medians); op = one command (GET/SET) or one key (MGET)"
    )
    header = (
        f"{'workload':<10} {'client':<30} {'ops/s':>10} {'cpu us/op':>10} {'ratio':>6} "
        f"{'lag p99 ms':>10}  target (ratio >= {TARGET_RATIO}, lag <= {TARGET_LAG_MS} ms)"
    )
    print(header)
    print("-" * len(header))
    for workload, by_client in results.items():
        for name, f in by_client.items():
            verdict = ""
            if name == OURS:
                met = f["ratio"] >= TARGET_RATIO and f["lag_p99_ms"] <= TARGET_LAG_MS
                verdict = "met" if met else "below"
            print(
                f"{workload:<10} {name:<30} {f['ops_per_s']:>10.0f} {f['cpu_us_per_op']:>10.2f} "
                f"{f['ratio']:>6.2f} {f['lag_p99_ms']:>10.2f}  {verdict}"
            )


async def bench(args, masters, single):
    cluster = {
        "nodes": {
            f"node_{i + 1}": {"host": "127.0.0.1", "port": port} for i, port in enumerate(masters)
        }
    }
    clients = {
        OURS: rediscluster.asyncio.StrictRedisCluster(
            cluster=cluster, db=0, mastersonly=True, engine_threads=args.engine_threads
        ),
        BASELINE: redis.asyncio.Redis(port=single, max_connections=args.tasks + 10),
        SHARDED: ShardedByHand(masters, args.tasks + 10),
    }
    try:
        python_bench.check_placement(
            rediscluster.StrictRedisCluster(cluster=cluster, mastersonly=True), masters
        )
        keys = {
            name: [f"bench:a{TAGS[name]}:{i:06d}" for i in range(args.tasks)] for name in clients
        }
        workloads = make_workloads(args.tasks, args.ops, args.mget_ops)
        samples = await run_rounds(clients, keys, workloads, args.rounds)
    finally:
        for client in clients.values():
            await client.aclose()
    return summarize(samples, workloads, list(clients))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--ops", type=int, default=50, help="SET+GET pairs per task")
    parser.add_argument("--mget-ops", type=int, default=10, help="MGETs per task")
    parser.add_argument(
        "--engine-threads",
        type=int,
        default=rediscluster.asyncio.client.DEFAULT_ENGINE_THREADS,
        help="ours: engine threads (default: the client's default)",
    )
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--json", action="store_true", help="JSON on stdout after the table")
    parser.add_argument("--no-servers", action="store_true", help="use running servers")
    args = parser.parse_args()
    if min(args.rounds, args.tasks, args.ops, args.mget_ops, args.engine_threads) < 1:
        parser.error("--rounds, --tasks, --ops, --mget-ops and --engine-threads must be positive")

    base = python_bench.bench_base_port()
    masters, single = [base, base + 1, base + 2], base + 3
    if args.uvloop:
        import uvloop

        runner = uvloop.run
    else:
        runner = asyncio.run
    meta = {
        "loop": "uvloop" if args.uvloop else "asyncio",
        "hiredis": redis.utils.HIREDIS_AVAILABLE,
        "redis_py": redis.__version__,
        "python": sys.version.split()[0],
        "tasks": args.tasks,
        "ops": args.ops,
        "mget_ops": args.mget_ops,
        "rounds": args.rounds,
        "engine_threads": args.engine_threads,
    }
    started = time.perf_counter()
    processes = [] if args.no_servers else python_bench.start_servers(masters + [single])
    try:
        results = runner(bench(args, masters, single))
    finally:
        python_bench.stop_servers(processes)
    meta["seconds"] = time.perf_counter() - started
    print_table(results, meta)
    print(f"total: {meta['seconds']:.1f}s", file=sys.stderr)
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
