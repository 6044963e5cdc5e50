"""Python client benchmark (not a test): rediscluster vs redis-py + hiredis, in one run.

Clients, side by side on the same machine and in the same run:

* ``ours``: ``rediscluster.StrictRedisCluster`` over three masters (``mastersonly=True``);
* ``redis-py one server``: ``redis.Redis`` (hiredis parser, RESP2) on one server, the baseline;
* ``redis-py sharded by hand``: three ``redis.Redis`` over the same three masters, each key
  routed by the placement contract ``crc32(key) % 3``; MGET/MSET grouped per node by hand (MGET
  replies put back in key order), one pipeline per node.

Workloads: SET and GET (``--n`` single calls each), MSET and MGET of 1000 keys (repeated
``--n // 1000`` times), a pipeline of 10k SET (``transaction=False``) built and executed. An
"op" is one key: one call for SET/GET, one key of a batch for MSET/MGET/pipeline.

Rounds are interleaved: every round runs every workload on every client (in a rotating client
order), so machine noise hits all of them alike; each figure is the median over the rounds.
Two times are reported per op: wall time, and this process's CPU time (``time.process_time``,
all its threads, the Rust engine's included), which is what the client itself costs and is
much less noisy than wall time on a small shared machine. Ratios are against
``redis-py one server``: throughput ratio = ops/s / baseline ops/s, CPU ratio = baseline CPU
per op / CPU per op (> 1: better than the baseline). The issue's throughput targets for
``ours`` are printed next to them as information, not checked.

Every run is checked outside the timed part (each client writes its own values under its own
keys; GET and MGET must return what SET and MSET wrote, the pipeline's keys are read back, and
``ours`` places keys where the contract says), so a broken client cannot look fast.

Run: ``make bench-python``, or ``.venv/bin/python bench/python_bench.py [--rounds 5]
[--n 20000] [--quick] [--json]``. It starts its own four redis-server processes on
BENCH_BASE_PORT..+3 (tests/ports.env: three masters and the single server) and stops them at
the end; ``--no-servers`` uses servers already running on those ports instead.
"""

from __future__ import annotations

import argparse
import binascii
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis
import redis.utils
from redis.backoff import NoBackoff
from redis.retry import Retry

import rediscluster

ROOT = Path(__file__).resolve().parents[1]
# The tests' server helper, for the options every server of the repository shares.
sys.path.insert(0, str(ROOT / "python" / "tests"))
import redis_servers  # noqa: E402

BATCH = 1000
PIPELINE_SIZE = 10_000
OURS = "ours"
BASELINE = "redis-py one server"
SHARDED = "redis-py sharded by hand"
# Short per-client tags for keys and values (equal lengths: every client pays the same bytes).
TAGS = {OURS: "ou", BASELINE: "rp", SHARDED: "rs"}
# Throughput targets, ours / redis-py (hiredis) on one server: the Python drop-in issue's
# (14), which raised SET and GET; MSET's is the first speed issue's.
TARGETS = {
    "SET": 1.6,
    "GET": 1.8,
    "MGET x1000": 2.0,
    "MSET x1000": 2.0,
    "pipeline 10k SET": 3.0,
}


def bench_base_port():
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        name, _, value = line.strip().partition("=")
        if name == "BENCH_BASE_PORT":
            return int(value)
    raise SystemExit("BENCH_BASE_PORT missing from tests/ports.env")


def answers_ping(port):
    # No retries: redis-py's default retries with a backoff of seconds on a refused connection.
    no_retry = Retry(NoBackoff(), 0)
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.2, retry=no_retry).ping()
    except redis.ConnectionError:
        return False


def start_servers(ports):
    """Starts one redis-server per port, waits until each answers PING; returns the Popens."""
    busy = [port for port in ports if answers_ping(port)]
    if busy:
        raise SystemExit(f"ports {busy} already answer PING: stop those servers or --no-servers")
    processes = []
    try:
        for port in ports:
            command = ["redis-server", *redis_servers.common_args(), "--port", str(port)]
            command += ["--daemonize", "no"]
            processes.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        for port, process in zip(ports, processes, strict=True):
            deadline = time.monotonic() + 10
            while not answers_ping(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"redis-server on port {port} did not start")
                time.sleep(0.02)
    except BaseException:
        stop_servers(processes)
        raise
    return processes


def stop_servers(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def require(condition, message):
    """A check that holds under ``python -O`` too: a wrong answer stops the benchmark."""
    if not condition:
        raise SystemExit(f"benchmark check failed: {message}")


def node_index(key, nodes):
    """The placement contract (no hash tags in bench keys): 0-based master index."""
    return (binascii.crc32(key.encode()) & 0xFFFFFFFF) % nodes


class ShardedByHand:
    """redis-py over several masters, placed by the contract: what a careful user writes."""

    def __init__(self, ports):
        self.clients = [redis.Redis(port=port, protocol=2) for port in ports]

    def client_for(self, key):
        return self.clients[node_index(key, len(self.clients))]

    def set(self, key, value):
        return self.client_for(key).set(key, value)

    def get(self, key):
        return self.client_for(key).get(key)

    def _groups(self, keys):
        groups = {}
        for position, key in enumerate(keys):
            groups.setdefault(node_index(key, len(self.clients)), []).append(position)
        return groups

    def mget(self, keys):
        values = [None] * len(keys)
        for node, positions in self._groups(keys).items():
            found = self.clients[node].mget([keys[p] for p in positions])
            for position, value in zip(positions, found, strict=True):
                values[position] = value
        return values

    def mset(self, mapping):
        keys = list(mapping)
        for node, positions in self._groups(keys).items():
            self.clients[node].mset({keys[p]: mapping[keys[p]] for p in positions})
        return True

    def pipeline_set(self, items):
        """SETs in one pipeline per node; the replies in the order of ``items``."""
        pipes = [client.pipeline(transaction=False) for client in self.clients]
        nodes = [node_index(key, len(self.clients)) for key, _ in items]
        for node, (key, value) in zip(nodes, items, strict=True):
            pipes[node].set(key, value)
        replies = [iter(pipe.execute()) for pipe in pipes]
        return [next(replies[node]) for node in nodes]


def value_for(tag, round_number, letter):
    """A 16-byte value unique to (client, round, writer): SET writes S (GET reads it), MSET
    writes M (MGET reads it), the pipeline writes P."""
    return f"{tag}:{round_number:03d}:{letter}:".ljust(16, "x")


def make_workloads(n, pipeline_size):
    """name -> (ops per run, value letter, run(client, keys, value), check(client, keys, value,
    result)): ``run`` is the timed part; ``check`` verifies its result (and reads back), untimed.
    GET and MGET get the value SET and MSET wrote in the same round (same letter)."""
    repeats = max(1, n // BATCH)

    def run_set(client, keys, value):
        return [client.set(key, value) for key in keys[:n]]

    def check_set(client, keys, value, replies):
        require(len(replies) == n and all(replies), "SET did not answer OK")

    def run_get(client, keys, value):
        return [client.get(key) for key in keys[:n]]

    def check_get(client, keys, value, got):
        # SET ran just before in the same round, with this value.
        expected = value.encode()
        require(got == [expected] * n, "GET did not return what SET wrote")

    def run_mset(client, keys, value):
        mapping = dict.fromkeys(keys[:BATCH], value)
        return [client.mset(mapping) for _ in range(repeats)]

    def check_mset(client, keys, value, replies):
        require(all(replies), "MSET did not answer OK")

    def run_mget(client, keys, value):
        batch = keys[:BATCH]
        return [client.mget(batch) for _ in range(repeats)]

    def check_mget(client, keys, value, results):
        expected = [value.encode()] * BATCH
        require(all(got == expected for got in results), "MGET did not return what MSET wrote")

    def run_pipeline(client, keys, value):
        if isinstance(client, ShardedByHand):
            return client.pipeline_set([(key, value) for key in keys[:pipeline_size]])
        pipe = client.pipeline(transaction=False)
        for key in keys[:pipeline_size]:
            pipe.set(key, value)
        return pipe.execute()

    def check_pipeline(client, keys, value, replies):
        require(len(replies) == pipeline_size and all(replies), "pipeline SET did not answer OK")
        sample = keys[: min(pipeline_size, 200)] + keys[pipeline_size - 100 : pipeline_size]
        got = client.mget(sample)
        require(got == [value.encode()] * len(sample), "pipeline SETs not read back")

    return {
        "SET": (n, "S", run_set, check_set),
        "GET": (n, "S", run_get, check_get),
        "MSET x1000": (repeats * BATCH, "M", run_mset, check_mset),
        "MGET x1000": (repeats * BATCH, "M", run_mget, check_mget),
        "pipeline 10k SET": (pipeline_size, "P", run_pipeline, check_pipeline),
    }


def check_placement(ours, ports):
    """``ours`` puts keys on node_{crc32 % N + 1}: asked (getnodefor) and on the servers."""
    direct = [redis.Redis(port=port, protocol=2) for port in ports]
    for i in range(300):
        key = f"bench:placement:{i}"
        index = node_index(key, len(ports))
        expected = {f"node_{index + 1}": {"host": "127.0.0.1", "port": ports[index]}}
        require(ours.getnodefor(key) == expected, f"getnodefor({key!r}) breaks the contract")
        ours.set(key, f"placed-{i}")
        require(direct[index].get(key) == f"placed-{i}".encode(), f"{key!r} not on its node")
        ours.delete(key)


def measure(run, client, keys, value):
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run(client, keys, value)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run_rounds(clients, jobs, keys, rounds, warmup_jobs):
    names = list(clients)
    # Untimed warm-up: connections opened, code paths and server dicts warm.
    for _, letter, run, check in warmup_jobs.values():
        for name in names:
            value = value_for(TAGS[name], 0, letter)
            check(clients[name], keys[name], value, run(clients[name], keys[name], value))
    samples = {(workload, name): [] for workload in jobs for name in names}
    for round_number in range(1, rounds + 1):
        started = time.perf_counter()
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for workload, (ops, letter, run, check) in jobs.items():
            for name in order:
                client, value = clients[name], value_for(TAGS[name], round_number, letter)
                wall, cpu, result = measure(run, client, keys[name], value)
                check(client, keys[name], value, result)
                samples[(workload, name)].append((wall / ops, cpu / ops))
        print(
            f"round {round_number}/{rounds}: {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    return samples


def summarize(samples, jobs, clients):
    results = {}
    for workload in jobs:
        for name in clients:
            runs = samples[(workload, name)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            results.setdefault(workload, {})[name] = {
                "ops_per_s": 1 / wall,
                "us_per_op": wall * 1e6,
                "cpu_us_per_op": cpu * 1e6,
                "wall_us_per_op_rounds": [w * 1e6 for w, _ in runs],
                "cpu_us_per_op_rounds": [c * 1e6 for _, c in runs],
            }
    for workload, by_client in results.items():
        base = by_client[BASELINE]
        for name, figures in by_client.items():
            figures["ratio"] = figures["ops_per_s"] / base["ops_per_s"]
            figures["cpu_ratio"] = base["cpu_us_per_op"] / figures["cpu_us_per_op"]
            if name == OURS:
                figures["target"] = TARGETS[workload]
    return results


def print_table(results, meta, out):
    print(
        f"hiredis available: {meta['hiredis']}; rounds: {meta['rounds']}; n: {meta['n']}; "
        f"pipeline: {meta['pipeline_size']}; medians over the rounds; op = one key",
        file=out,
    )
    print(
        f"ratio = ops/s / {BASELINE} ops/s; cpu ratio = {BASELINE} cpu/op / cpu/op "
        "(> 1: better); targets (issue, info only) are for the throughput ratio of ours",
        file=out,
    )
    header = (
        f"{'workload':<17} {'client':<25} {'ops/s':>10} {'us/op':>8} {'cpu us/op':>10} "
        f"{'ratio':>6} {'cpu ratio':>9}  target"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for workload, by_client in results.items():
        for name, f in by_client.items():
            target = ""
            if "target" in f:
                verdict = "met" if f["ratio"] >= f["target"] else "below"
                target = f">= {f['target']:.1f} ({verdict})"
            print(
                f"{workload:<17} {name:<25} {f['ops_per_s']:>10.0f} {f['us_per_op']:>8.2f} "
                f"{f['cpu_us_per_op']:>10.2f} {f['ratio']:>6.2f} {f['cpu_ratio']:>9.2f}  "
                f"{target}",
                file=out,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 2)")
    parser.add_argument("--n", type=int, help="single calls per SET/GET run (default 20000)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument(
        "--no-servers", action="store_true", help="use servers already running on the ports"
    )
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    n = args.n or (2000 if args.quick else 20_000)
    pipeline_size = 2000 if args.quick else PIPELINE_SIZE
    if rounds < 1 or n < 1:
        parser.error("--rounds and --n must be positive")

    base = bench_base_port()
    masters, single = [base, base + 1, base + 2], base + 3
    meta = {
        "hiredis": redis.utils.HIREDIS_AVAILABLE,
        "redis_py": redis.__version__,
        "rediscluster": rediscluster.__version__,
        "python": sys.version.split()[0],
        "rounds": rounds,
        "n": n,
        "batch": BATCH,
        "pipeline_size": pipeline_size,
        "masters": masters,
        "single": single,
    }
    print(f"redis.utils.HIREDIS_AVAILABLE = {meta['hiredis']}", file=sys.stderr)

    started = time.perf_counter()
    processes = [] if args.no_servers else start_servers(masters + [single])
    try:
        cluster = {
            "nodes": {
                f"node_{i + 1}": {"host": "127.0.0.1", "port": port}
                for i, port in enumerate(masters)
            }
        }
        clients = {
            OURS: rediscluster.StrictRedisCluster(cluster=cluster, db=0, mastersonly=True),
            BASELINE: redis.Redis(port=single, protocol=2),
            SHARDED: ShardedByHand(masters),
        }
        check_placement(clients[OURS], masters)
        # Each client its own keys (same length), so no client reads another's writes.
        size = max(n, BATCH, pipeline_size)
        keys = {name: [f"bench:{TAGS[name]}:{i:07d}" for i in range(size)] for name in clients}
        jobs = make_workloads(n, pipeline_size)
        warmup = make_workloads(min(n, 500), min(pipeline_size, 500))
        samples = run_rounds(clients, jobs, keys, rounds, warmup)
    finally:
        stop_servers(processes)
    meta["seconds"] = time.perf_counter() - started

    results = summarize(samples, jobs, clients)
    print_table(results, meta, sys.stderr if args.json else sys.stdout)
    print(f"total: {meta['seconds']:.1f}s", file=sys.stderr)
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
