#!/usr/bin/env python3
"""Fault-injection suite: one StrictRedisCluster (the Rust engine) shared by worker threads
doing mixed reads and writes over 3 masters (node_1 with a replica), while the suite kills
the replica, kills and restarts a master, SIGSTOPs a node and fills a node's memory.

It asserts, for every phase:
  * no wrong answer, ever: each worker checks every read against what it wrote (reads through
    a masters-only client must return exactly the last write; reads that may be served by the
    replica must return one of this worker's own writes to that key, never a newer or foreign
    one, since replication is asynchronous);
  * errors only for the affected node's keys, and only while it is down (a restarted or
    resumed node serves again within a few seconds);
  * the healthy nodes' throughput during the fault at least 90 % of the baseline's (measured
    after the client has noticed the fault: a SIGSTOPped node costs each caller that hits it
    one read timeout before it is known to be down).

`make test` runs it with short phases; `make soak` with long phases and several rounds.
Servers are started by this script on FAULT_SUITE_BASE_PORT.. (tests/ports.env) and stopped
by their own process handles.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import redis

import rediscluster

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from redis_servers import Server  # noqa: E402  (the tests' own server helper)

READ_TIMEOUT = 0.5
WORKERS_PER_NODE = 2
KEYS_PER_WORKER = 150
# What an application does after a failed request before its next one on the same shard; it
# keeps the failing node's workers from spinning on the GIL, which would slow every thread in
# the process whatever the client did.
PAUSE_AFTER_ERROR = 0.01
MIN_HEALTHY_RATIO = 0.9


def base_port():
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        if line.startswith("FAULT_SUITE_BASE_PORT="):
            return int(line.split("=", 1)[1])
    raise SystemExit("FAULT_SUITE_BASE_PORT missing from tests/ports.env")


class Worker(threading.Thread):
    """Reads and writes its own keys, all on one node (so a healthy node's throughput is
    measured by its own workers); counts successes and errors per node and per phase; records
    every wrong answer."""

    def __init__(self, index, node, strict, relaxed, suite):
        super().__init__(daemon=True)
        self.index, self.strict, self.relaxed = index, strict, relaxed
        candidates = (f"w{index}:k{i}" for i in range(KEYS_PER_WORKER * 20))
        self.keys = [k for k in candidates if node in strict.getnodefor(k)][:KEYS_PER_WORKER]
        self.node_of = {key: node for key in self.keys}
        self.suite = suite
        self.rng = random.Random(index)
        self.version = 0
        self.latest = {}  # key -> last version this worker tried to write
        self.stored = {}  # key -> set of versions the server may hold (None: absent)
        self.forgotten_epochs = defaultdict(int)

    def value(self, key, version):
        return f"{self.index}|{key}|{version}".encode()

    def parse(self, key, raw):
        worker, stored_key, version = raw.decode().split("|")
        if int(worker) != self.index or stored_key != key:
            raise AssertionError(f"{key}: got another writer's value {raw!r}")
        return int(version)

    def run(self):
        try:
            self.loop()
        except BaseException as error:  # a bug in the suite itself: fail loudly
            self.suite.crashed.append(f"worker {self.index}: {error!r}")

    def loop(self):
        suite = self.suite
        while not suite.stop.is_set():
            key = self.rng.choice(self.keys)
            node = self.node_of[key]
            # A restarted node lost its data (no persistence): its keys may now be missing.
            # What this worker knew stays possible too (a value written before the kill that
            # no read has seen since).
            epoch = suite.epochs[node]
            if self.forgotten_epochs[node] != epoch:
                self.forgotten_epochs[node] = epoch
                for k in self.keys:
                    if self.node_of[k] == node:
                        self.stored[k] = {None} | {v for v in self.stored.get(k, set())}
            try:
                self.step(key)
                suite.count(node, ok=True)
            except AssertionError as wrong:
                suite.wrong.append(f"worker {self.index}: {wrong}")
            except redis.RedisError as error:
                suite.count(node, ok=False, error=error)
                time.sleep(PAUSE_AFTER_ERROR)

    def step(self, key):
        roll = self.rng.random()
        if roll < 0.45:
            self.version += 1
            version = self.version
            self.latest[key] = version
            # Until the reply comes, the server may hold the old value or the new one.
            possible = self.stored.setdefault(key, {None})
            possible.add(version)
            self.strict.set(key, self.value(key, version))
            self.stored[key] = {version}
        elif roll < 0.85:
            raw = self.strict.get(key)
            got = None if raw is None else self.parse(key, raw)
            possible = self.stored.get(key, {None})
            if got not in possible:
                raise AssertionError(
                    f"{key}: read {got}, expected one of {sorted(possible, key=str)}"
                )
            self.stored[key] = {got}
        else:
            # May be served by the replica: any of this worker's writes, none newer.
            raw = self.relaxed.get(key)
            if raw is not None:
                got = self.parse(key, raw)
                if got > self.latest.get(key, 0):
                    raise AssertionError(f"{key}: replica read {got}, newer than any write")


class Suite:
    def __init__(self, args):
        self.args = args
        port = base_port()
        self.masters = []
        self.replica = None
        try:
            sync_now = ("--repl-diskless-sync-delay", "0")
            self.masters = [Server(port + i, *sync_now) for i in range(3)]
            self.replica = Server(port + 3, *sync_now, "--replicaof", "127.0.0.1", str(port))
            self.wait_replica_online()
        except BaseException:
            self.remove_servers()
            raise
        cluster = {
            "nodes": {
                f"node_{i + 1}": {"host": "127.0.0.1", "port": s.port}
                for i, s in enumerate(self.masters)
            },
            "replica_check_interval": 0.5,
            "max_replica_lag": 2,
        }
        options = {"socket_timeout": READ_TIMEOUT, "socket_connect_timeout": READ_TIMEOUT}
        self.strict = rediscluster.StrictRedisCluster(cluster=cluster, mastersonly=True, **options)
        self.relaxed = rediscluster.StrictRedisCluster(cluster=cluster, **options)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.epochs = {f"node_{i + 1}": 0 for i in range(3)}
        self.wrong = []
        self.phase = "warm-up"
        self.phase_started = self.measure_from = time.monotonic()
        self.crashed = []
        self.ok = defaultdict(int)
        self.errors = defaultdict(int)
        self.error_samples = {}
        self.last_error = {}

    def wait_replica_online(self):
        deadline = time.monotonic() + 10
        while (
            self.replica.client(socket_timeout=2).info("replication").get("master_link_status")
            != "up"
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the replica never synced")
            time.sleep(0.05)

    def remove_servers(self):
        for server in [*self.masters, self.replica]:
            if server is not None:
                server.stop()

    def count(self, node, ok, error=None):
        now = time.monotonic()
        with self.lock:
            if ok:
                if now >= self.measure_from:
                    self.ok[(self.phase, node)] += 1
            else:
                self.errors[(self.phase, node)] += 1
                self.last_error[(self.phase, node)] = now
                self.error_samples.setdefault(
                    (self.phase, node), f"{type(error).__name__}: {error}"
                )

    def run_phase(self, name, seconds, settle=0.3, action=None):
        """Counts everything from here on for `name`; then injects the fault (`action`), so
        every error it causes is counted in this phase."""
        with self.lock:
            self.phase = name
            self.phase_started = time.monotonic()
            self.measure_from = self.phase_started + settle
        if action:
            action()
        time.sleep(max(seconds - (time.monotonic() - self.phase_started), 0))
        return max(seconds - settle, 0.001)

    def main(self):
        nodes = [node for node in self.epochs for _ in range(WORKERS_PER_NODE)]
        workers = [
            Worker(index, node, self.strict, self.relaxed, self) for index, node in enumerate(nodes)
        ]
        for worker in workers:
            worker.start()
        phase_s = self.args.phase_seconds
        report = []
        failures = []
        try:
            for round_ in range(self.args.rounds):
                report += self.one_round(round_, phase_s, failures)
        finally:
            self.stop.set()
            for worker in workers:
                worker.join(10)
            self.remove_servers()
        failures += [f"wrong answer: {w}" for w in self.wrong[:20]]
        failures += [f"worker crashed: {c}" for c in self.crashed]
        self.print_report(report)
        self.print_errors()
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(report, indent=2))
        if failures:
            print("\nFAILED:\n  " + "\n  ".join(failures))
            return 1
        print(
            f"\nfault suite passed: {len(report)} phases, no wrong answer, "
            "errors only on the affected node, healthy nodes at full speed"
        )
        return 0

    def one_round(self, round_, phase_s, failures):
        rows = []
        nodes = list(self.epochs)
        tag = f"r{round_}:"

        def phase(name, affected, settle=0.3, recovering=False, action=None):
            duration = self.run_phase(tag + name, phase_s, settle, action)
            row = {"phase": tag + name, "affected": affected, "seconds": round(duration, 2)}
            for node in nodes:
                row[f"{node} ops/s"] = round(self.ok[(tag + name, node)] / duration)
                row[f"{node} errors"] = self.errors[(tag + name, node)]
            rows.append(row)
            for node in nodes:
                errors = self.errors[(tag + name, node)]
                if errors and node != affected:
                    failures.append(
                        f"{tag + name}: {errors} errors on healthy {node}: "
                        f"{self.error_samples[(tag + name, node)]}"
                    )
                if recovering and node == affected and errors:
                    since = self.last_error[(tag + name, node)] - self.phase_started
                    if since > 3.0:
                        failures.append(
                            f"{tag + name}: {node} still failing {since:.1f}s after it came back"
                        )
            return row

        base = phase("baseline", None)
        phase("replica killed", None, action=self.replica.kill)

        def ratio_check(row, affected):
            for node in nodes:
                if node == affected:
                    continue
                before, during = base[f"{node} ops/s"], row[f"{node} ops/s"]
                ratio = during / before if before else 0
                row[f"{node} vs baseline"] = round(ratio, 2)
                if ratio < MIN_HEALTHY_RATIO:
                    failures.append(
                        f"{row['phase']}: {node} at {ratio:.0%} of baseline "
                        f"({during} vs {before} ops/s)"
                    )

        ratio_check(phase("master killed", "node_2", action=self.masters[1].kill), "node_2")

        def restart_node_2():
            # Announced before the empty server starts, not after: a worker that read a key
            # from it in between (it answers as soon as it is up) would see None where it
            # still expected its last write, a wrong answer of the suite's own making (seen
            # once in CI). While it is down every call fails, so announcing early costs nothing.
            self.epochs["node_2"] += 1
            self.masters[1].start()

        phase("master restarted", "node_2", recovering=True, action=restart_node_2)
        ratio_check(
            phase(
                "node stopped", "node_3", settle=READ_TIMEOUT + 1.0, action=self.masters[2].pause
            ),
            "node_3",
        )
        phase("node resumed", "node_3", recovering=True, action=self.masters[2].resume)

        def fill_memory():
            direct = self.masters[0].client(socket_timeout=2)
            used = int(direct.info("memory")["used_memory"])
            direct.config_set("maxmemory-policy", "noeviction")
            direct.config_set("maxmemory", max(used // 2, 1))

        oom = phase("node_1 out of memory", "node_1", action=fill_memory)
        ratio_check(oom, "node_1")
        if "OutOfMemoryError" not in self.error_samples.get(
            (tag + "node_1 out of memory", "node_1"), ""
        ):
            failures.append(f"{tag}node_1 out of memory: no OOM error seen")
        phase(
            "memory freed",
            "node_1",
            recovering=True,
            action=lambda: self.masters[0].client(socket_timeout=2).config_set("maxmemory", 0),
        )
        # Back to a full cluster for the next round: a fresh replica of node_1.
        self.replica.start()
        self.wait_replica_online()
        return rows

    def print_errors(self):
        print("\nfirst error per phase and node:")
        for (phase, node), sample in sorted(self.error_samples.items()):
            print(f"  {phase} {node}: {sample[:150]}")

    def print_report(self, rows):
        nodes = list(self.epochs)
        header = f"{'phase':<28}" + "".join(
            f"{n + ' ok/s':>13}{'err':>7}{'vs base':>9}" for n in nodes
        )
        print(header)
        for row in rows:
            line = f"{row['phase']:<28}"
            for node in nodes:
                ratio = row.get(f"{node} vs baseline")
                line += f"{row[f'{node} ops/s']:>13}{row[f'{node} errors']:>7}"
                line += f"{'' if ratio is None else f'{ratio:.2f}':>9}"
            print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase-seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    suite = Suite(args)
    return suite.main()


if __name__ == "__main__":
    sys.exit(main())
