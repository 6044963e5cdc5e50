"""The live move into a Redis Cluster: N keys of every type from 3 client-side masters (tags
stripped, crc32) into a 3-master Redis Cluster, under a steady read/write load from a Python, a
PHP and a Rust client at once, with `rediscluster reshard` killed (SIGKILL) once and resumed.

The data set (the three clients compute it the same way): key ``i`` of ``N`` is
``u:{i}:{t}{u:{i}}`` for even ``i`` (placed by the tag ``u:{i}``, stored as ``u:{i}:{t}``:
``--tag-rule '^(u:\\d+):'`` puts the tag back) and ``p:{i}:{t}`` for odd ``i``, where the type
``t`` follows ``i % 20``: 0-11 string ``v{i}`` (an expiry of an hour when ``i % 20 == 5``),
12-13 hash ``{a: v{i}, b: 2}``, 14-15 list ``[v{i}, b]``, 16-17 set ``{v{i}, b}``, 18 sorted
set ``{v{i}: 1, b: 2}``, 19 stream ``1-1 {a: v{i}}``. Strings with ``i % 20 == 1`` are
mutable: client ``(i // 20) % 3`` (0 Python, 1 PHP, 2 Rust) APPENDs ``|{client}:{seq}`` to them,
a write that depends on the value the key has, wherever it is (the window moves the key to the
cluster first): each must end up as ``v{i}`` and every acknowledged append, in order.

Each client reads a random key 9 times in 10 (GET, HGET a, LINDEX 0, SISMEMBER, ZSCORE, XLEN)
and checks the answer (a mutable key: its owner's last write, else the original with appends);
1 time in 10 it writes (APPEND to one of its mutable keys, or SET a new key). The rate
is fixed (--rate per client), so the load is the same before and during the move. The phases,
written by this script in CONTROL/phase: ``before`` (clients on the old masters' config),
``window`` (clients restarted on the cluster's config with ``previous`` = the old masters),
``moving`` (`rediscluster reshard --rate --batch` runs, paced, under `nice`: killed with
SIGKILL once a third of the keys moved, then run again with the same --state), ``after``,
``closed`` (the window closed: clients on the cluster's config alone, as long as ``before``:
what the destination itself costs the same load), ``stop``. Each client writes its reads per
phase (count, failed, p50, p99, max) and the writes the servers acknowledged.

Afterwards every key is checked on the cluster, by its full name: type, value, expiry (within
a second of the instant it had on the old master), the mutable keys' last acknowledged writes,
the new keys; and the old masters must be empty. The report also gives, before and during the
move, the CPU each kind of process used (old masters, the cluster's masters and replicas, the
clients, the tool), how often the old masters were asked and lacked a key, and when each old
master first had the move's mark (watched every 20 ms).

``--copy-only`` is the control: `rediscluster copy` does the same reading and writing of the
servers at the same pace while the clients stay on the old masters throughout (no window,
nothing deleted, no kill, no closed phase, no check after): the read p99 the servers' work of
moving costs the clients by itself, to set beside the move's.

Ports: the cluster on BENCH_BASE_PORT..+5 (tests/cluster.sh, CLUSTER_KIND=redis_cluster), the
old masters on MOVE_BENCH_OLD_BASE_PORT..+2 (tests/ports.env).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

import rediscluster
from python_bench import bench_base_port, start_servers, stop_servers
from redis_cluster_bench import cluster_script

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "target" / "release" / "rediscluster"
RUST_LOAD = ROOT / "target" / "release" / "examples" / "move_load"
PHP_LOAD = ROOT / "bench" / "move_load.php"
TAG_RULE = r"^(u:\d+):"
TTL_SECONDS = 3600
CLIENTS = ("python", "php", "rust")


def ports_env(name):
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key == name:
            return int(value)
    raise SystemExit(f"{name} missing from tests/ports.env")


# The data set (see the docstring; move_load.rs and move_load.php compute the same).


def kind(i):
    r = i % 20
    if r <= 11:
        return "s"
    return {12: "h", 13: "h", 14: "l", 15: "l", 16: "e", 17: "e", 18: "z"}.get(r, "x")


def name(i):
    t = kind(i)
    return f"u:{i}:{t}{{u:{i}}}" if i % 2 == 0 else f"p:{i}:{t}"


def read_of(i):
    key, value = name(i), f"v{i}"
    return {
        "s": (("GET", key), value.encode()),
        "h": (("HGET", key, "a"), value.encode()),
        "l": (("LINDEX", key, "0"), value.encode()),
        "e": (("SISMEMBER", key, value), 1),
        # redis-py answers ZSCORE as a float (its callback), the others as the reply text.
        "z": (("ZSCORE", key, value), 1.0),
        "x": (("XLEN", key), 1),
    }[kind(i)]


def mutable(i):
    return i % 20 == 1


def owner(i):
    return (i // 20) % 3


def fill(client, n):
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        key, value, t = name(i), f"v{i}", kind(i)
        if t == "s":
            pipe.set(key, value, ex=TTL_SECONDS if i % 20 == 5 else None)
        elif t == "h":
            pipe.hset(key, mapping={"a": value, "b": "2"})
        elif t == "l":
            pipe.rpush(key, value, "b")
        elif t == "e":
            pipe.sadd(key, value, "b")
        elif t == "z":
            pipe.zadd(key, {value: 1, "b": 2})
        else:
            pipe.xadd(key, {"a": value}, id="1-1")
        if len(pipe) >= 5000:
            pipe.execute()
    pipe.execute()


# The Python load client (`--load`): the same loop as move_load.rs and move_load.php.


def config_file(phase):
    """The clients' config in a phase: the old masters', the window's, then the cluster's."""
    return {"before": "before.json", "closed": "cluster.json"}.get(phase, "window.json")


def load(me, n, control, out, rate):
    control = Path(control)

    def phase_now():
        try:
            return (control / "phase").read_text().strip()
        except FileNotFoundError:
            return "before"

    def client(phase):
        config = json.loads((control / config_file(phase)).read_text())
        return rediscluster.StrictRedisCluster(cluster=config)

    owned = [i for i in range(1, n, 20) if owner(i) == me]
    rng = random.Random(me)
    phase = phase_now()
    cluster, on_config = client(phase), config_file(phase)
    phases, last_written, acknowledged, uncertain, failures = {}, {}, {}, [], []
    wrong_writes = 0
    start = checked = time.monotonic()
    ops = seq = 0
    while True:
        now = time.monotonic()
        if now - checked > 0.05:
            checked = now
            phase = phase_now()
            if phase == "stop":
                break
            if config_file(phase) != on_config:
                cluster.close()
                cluster, on_config = client(phase), config_file(phase)
        ops += 1
        if rng.randrange(10) == 0:
            seq += 1
            if rng.randrange(2) == 0 and owned:
                # APPEND depends on the value the key has, wherever it is.
                i = rng.choice(owned)
                key, suffix = name(i), f"|{me}:{seq}"
                value = last_written.get(i, f"v{i}".encode()).decode() + suffix
                command = ("APPEND", key, suffix)
            else:
                i, key, value = None, f"new:{me}:{seq}", f"n:{seq}"
                command = ("SET", key, value)
            try:
                done = cluster.execute_command(*command)
            except redis.RedisError:
                done = None
            if done is True or done == b"OK" or isinstance(done, int):
                if command[0] == "APPEND" and done != len(value):
                    # APPEND's new length: the append acted on another value than the key's.
                    wrong_writes += 1
                    if len(failures) < 20:
                        failures.append(
                            f"{phase}: APPEND {key} made {done} bytes, not {len(value)}"
                        )
                if i is not None:
                    last_written[i] = value.encode()
                acknowledged[key] = value
            else:
                uncertain.append([key, value])
                if i is not None:
                    # Its value is not known any more: not written again, read as anyone's.
                    owned.remove(i)
                    last_written.pop(i, None)
        else:
            i = rng.randrange(n)
            read, want = read_of(i)
            began = time.perf_counter()
            try:
                got = cluster.execute_command(*read)
            except redis.RedisError as error:
                got = error
            took = int((time.perf_counter() - began) * 1e6)
            if mutable(i) and isinstance(got, bytes):
                good = (
                    got == last_written[i]
                    if i in last_written
                    else got == want or got.startswith(want + b"|")
                )
            else:
                good = got == want
            entry = phases.setdefault(phase, {"latencies": [], "failed": 0})
            entry["latencies"].append(took)
            if not good:
                entry["failed"] += 1
                if len(failures) < 20:
                    failures.append(f"{phase}: {read} answered {got!r}")
        due = start + ops / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    summary = {}
    for phase_name, entry in phases.items():
        latencies = sorted(entry["latencies"])
        summary[phase_name] = {
            "reads": len(latencies),
            "failed": entry["failed"],
            "p50_us": percentile(latencies, 0.50),
            "p99_us": percentile(latencies, 0.99),
            "max_us": latencies[-1] if latencies else 0,
        }
    report = {
        "client": "python",
        "phases": summary,
        "wrong_writes": wrong_writes,
        "failures": failures,
        "acknowledged": acknowledged,
        "uncertain": uncertain,
    }
    Path(out).write_text(json.dumps(report))


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


# The move.


def expiries(client, n):
    """PEXPIRETIME of every key with an expiry, by index."""
    with_ttl = [i for i in range(5, n, 20)]
    out = {}
    for start in range(0, len(with_ttl), 5000):
        chunk = with_ttl[start : start + 5000]
        pipe = client.pipeline(transaction=False)
        for i in chunk:
            pipe.execute_command("PEXPIRETIME", name(i))
        out.update(zip(chunk, pipe.execute(), strict=True))
    return out


def check_cluster(cluster, n, reports, expire_at):
    """Every key on the cluster, as the clients left it: (checked, lost, changed, examples)."""
    final = {}
    maybe = {}
    for report in reports:
        final.update(report["acknowledged"])
        for key, value in report["uncertain"]:
            maybe.setdefault(key, set()).add(value.encode())
    lost = changed = checked = 0
    examples = []

    def problem(kind_of, key, got, want):
        nonlocal lost, changed
        if got in (None, [], {}, set(), 0):
            lost += 1
        else:
            changed += 1
        if len(examples) < 10:
            examples.append(f"{kind_of} {key}: {got!r}, expected {want!r}")

    for start in range(0, n, 2000):
        indices = range(start, min(n, start + 2000))
        pipe = cluster.pipeline(transaction=False)
        for i in indices:
            key, t = name(i), kind(i)
            if t == "s":
                pipe.get(key)
            elif t == "h":
                pipe.hgetall(key)
            elif t == "l":
                pipe.lrange(key, 0, -1)
            elif t == "e":
                pipe.smembers(key)
            elif t == "z":
                pipe.zrange(key, 0, -1, withscores=True)
            else:
                pipe.xrange(key)
            if i in expire_at:
                pipe.execute_command("PEXPIRETIME", key)
        replies = iter(pipe.execute())
        for i in indices:
            key, t, v = name(i), kind(i), f"v{i}".encode()
            got = next(replies)
            checked += 1
            if t == "s":
                want = final.get(key, f"v{i}").encode()
                if got != want and got not in maybe.get(key, ()):
                    problem("string", key, got, want)
            else:
                want = {
                    "h": {b"a": v, b"b": b"2"},
                    "l": [v, b"b"],
                    "e": {v, b"b"},
                    "z": [(v, 1.0), (b"b", 2.0)],
                    "x": [(b"1-1", {b"a": v})],
                }[t]
                if got != want:
                    problem(t, key, got, want)
            if i in expire_at:
                at = next(replies)
                if key not in final and abs(at - expire_at[i]) > 1000:
                    problem("expiry", key, at, expire_at[i])
    news = [(key, value) for key, value in final.items() if key.startswith("new:")]
    for start in range(0, len(news), 2000):
        chunk = news[start : start + 2000]
        got = cluster.mget([key for key, _ in chunk])
        for (key, value), found in zip(chunk, got, strict=True):
            checked += 1
            if found != value.encode() and found not in maybe.get(key, ()):
                problem("new", key, found, value)
    return checked, lost, changed, examples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=800, help="operations per second per client")
    parser.add_argument("--before-seconds", type=float, default=15)
    parser.add_argument(
        "--move-rate", type=float, default=10_000, help="reshard --rate: keys moved per second"
    )
    parser.add_argument("--move-batch", type=int, default=10, help="reshard --batch")
    parser.add_argument(
        "--move-nice", type=int, default=19, help="run reshard under `nice -n` this (0: not)"
    )
    parser.add_argument(
        "--no-active-rehashing",
        action="store_true",
        help="CONFIG SET activerehashing no on every server: Redis then stops spending 1 ms in"
        " 100 resizing a growing or shrinking keyspace, which a move does and a steady load not",
    )
    parser.add_argument(
        "--copy-only",
        action="store_true",
        help="the control: `rediscluster copy` at the same --move-rate and --move-batch while the"
        " clients stay on the old masters (no window, nothing deleted, no kill): what the"
        " servers' work of moving costs the clients' reads without the window",
    )
    parser.add_argument("--php", default="php", help="the PHP command, with the extension loaded")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument(
        "--load", nargs=4, metavar=("ID", "CONTROL", "OUT", "RATE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.load:
        me, control, out, rate = args.load
        load(int(me), args.keys, control, out, float(rate))
        return
    for built in (TOOL, RUST_LOAD):
        if not built.exists():
            raise SystemExit(f"{built} is missing: run `make bench-move-to-redis-cluster`")
    n = args.keys
    old_ports = [ports_env("MOVE_BENCH_OLD_BASE_PORT") + k for k in range(3)]
    base = bench_base_port()
    control = Path(tempfile.mkdtemp(prefix="rediscluster-move-"))
    env = dict(
        os.environ, CLUSTER_KIND="redis_cluster", REDISCLUSTER_DEV_DIR=str(control / "cluster")
    )
    old_servers = start_servers(old_ports)
    cluster_script("start", base, env)
    loads = []
    try:
        old_config = {
            "nodes": {
                f"node_{k + 1}": {"host": "127.0.0.1", "port": p} for k, p in enumerate(old_ports)
            },
            "mastersonly": True,
        }
        cluster_config = json.loads(cluster_script("config", base, env))
        cluster_config["mastersonly"] = True
        window_config = dict(cluster_config, previous=old_config)
        if args.copy_only:
            # The control: the clients never leave the old masters, which keep every key.
            window_config = old_config
        (control / "before.json").write_text(json.dumps(old_config))
        (control / "window.json").write_text(json.dumps(window_config))
        (control / "old.json").write_text(json.dumps(old_config))
        (control / "cluster.json").write_text(json.dumps(cluster_config))
        (control / "phase").write_text("before")

        if args.no_active_rehashing:
            for port in [*old_ports, *range(base, base + 6)]:
                redis.Redis(port=port).config_set("activerehashing", "no")
        old = rediscluster.StrictRedisCluster(cluster=old_config)
        began = time.monotonic()
        fill(old, n)
        fill_seconds = time.monotonic() - began
        expire_at = expiries(old, n)
        print(f"filled {n} keys in {fill_seconds:.1f} s", file=sys.stderr)

        commands = {
            "python": [sys.executable, __file__, "--keys", str(n), "--load", "0"],
            "php": [*args.php.split(), str(PHP_LOAD), "1", str(n)],
            "rust": [str(RUST_LOAD), "2", str(n)],
        }
        for who, command in commands.items():
            out = control / f"{who}.json"
            command = [*command, str(control), str(out), str(args.rate)]
            loads.append((who, out, subprocess.Popen(command)))

        groups = process_groups(old_ports, base, loads)
        cpu_at = {"before": cpu_times()}
        groups_at = {"before": group_cpu(groups)}

        def set_phase(phase):
            (control / "phase").write_text(phase)
            cpu_at[phase] = cpu_times()
            groups_at[phase] = group_cpu(groups)
            print(f"phase {phase}", file=sys.stderr)

        time.sleep(args.before_seconds)
        set_phase("window")
        time.sleep(5)
        set_phase("moving")
        tool = [
            *(["nice", "-n", str(args.move_nice)] if args.move_nice else []),
            str(TOOL), "--json", "copy" if args.copy_only else "reshard",
            "--from", str(control / "old.json"), "--to", str(control / "cluster.json"),
            "--tag-rule", TAG_RULE, "--quiet",
            "--rate", str(args.move_rate), "--batch", str(args.move_batch),
        ]  # fmt: skip
        moving = time.monotonic()
        mover_cpu = mover_seconds()
        old_direct = [redis.Redis(port=p) for p in old_ports]
        asked_old = old_masters_asked(old_direct)
        marks = MarkWatcher(old_ports)
        if args.copy_only:
            killed, left_at_kill, summary = copy_all(tool)
        else:
            killed, left_at_kill, summary = move_all(tool, control, old_direct, n)
        move_seconds = time.monotonic() - moving
        marks_seen = marks.stop()
        asked_old = [b - a for a, b in zip(asked_old, old_masters_asked(old_direct), strict=True)]
        asked_old[1] -= marks.unknown  # the watcher's own GETs that found no mark
        mover_cpu = mover_seconds() - mover_cpu
        set_phase("after")
        time.sleep(5)
        if not args.copy_only:
            # The window closed (README step 5): what the cluster alone costs the same load.
            set_phase("closed")
            time.sleep(args.before_seconds)
        set_phase("stop")
        reports = []
        for who, out, process in loads:
            if process.wait(60) != 0:
                raise SystemExit(f"the {who} client failed")
            reports.append(json.loads(out.read_text()))
        loads = []

        target = rediscluster.StrictRedisCluster(cluster=cluster_config)
        if args.copy_only:
            # The clients wrote on the old masters alone, where every key stayed.
            checked, lost, changed, examples, left = 0, 0, 0, [], 0
        else:
            checked, lost, changed, examples = check_cluster(target, n, reports, expire_at)
            left = sum(r.dbsize() for r in old_direct)
        results = {
            "keys": n,
            "copy_only": args.copy_only,
            "fill_seconds": round(fill_seconds, 1),
            "move_seconds": round(move_seconds, 1),
            "killed": killed,
            "left_on_old_masters_at_kill": left_at_kill,
            "resumed_summary": summary,
            "clients": {r["client"]: r["phases"] for r in reports},
            "failures": [f for r in reports for f in r["failures"]],
            "wrong_writes": sum(r["wrong_writes"] for r in reports),
            "checked": checked,
            "lost": lost,
            "changed": changed,
            "examples": examples,
            "left_on_old_masters": left,
            "machine_cpu": machine_cpu(cpu_at),
            "cpu_by_process": {
                "before": phase_cpu(copy.deepcopy(groups_at), "before", "window"),
                "moving": phase_cpu(copy.deepcopy(groups_at), "moving", "after", mover_cpu),
            },
            # During the move: the clients' reads that asked an old master (one EXISTS each),
            # and the keys the old masters lacked when asked (a read that missed there looks
            # twice: EXISTS and the read; a write's DUMP and PTTL twice too).
            "old_masters_asked": {"exists": asked_old[0], "misses": asked_old[1]},
            "marks": marks_seen,
        }
        print_report(results)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        failed_reads = sum(
            p.get("failed", 0) for c in results["clients"].values() for p in c.values()
        )
        wrong = results["wrong_writes"]
        if failed_reads or wrong or lost or changed or left or not (killed or args.copy_only):
            raise SystemExit(1)
    finally:
        for _, _, process in loads:
            process.kill()
        cluster_script("stop", base, env)
        stop_servers(old_servers)


class MarkWatcher:
    """Reads each old master's move mark every 20 ms while the move runs: how long after the
    start each first had one, and the share of the move it had none (the clients then ask
    both masters of a moving key at once)."""

    def __init__(self, ports):
        self.servers = [redis.Redis(port=p) for p in ports]
        self.began = time.monotonic()
        self.first = [None] * len(ports)
        self.samples = self.unknown = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        while not self.done.wait(0.02):
            for k, server in enumerate(self.servers):
                try:
                    mark = server.get("rediscluster:move:done-below")
                except redis.RedisError:
                    continue  # a server too busy to answer in time: no sample
                self.samples += 1
                if mark is None:
                    self.unknown += 1
                elif self.first[k] is None:
                    self.first[k] = round(time.monotonic() - self.began, 2)

    def stop(self):
        self.done.set()
        self.thread.join()
        share = self.unknown / max(1, self.samples)
        return {"first_mark_seconds": self.first, "share_without_mark": round(share, 4)}


def old_masters_asked(old_direct):
    """EXISTS calls and keyspace misses, summed over the old masters."""
    exists = sum(
        r.info("commandstats").get("cmdstat_exists", {}).get("calls", 0) for r in old_direct
    )
    return [exists, sum(r.info("stats")["keyspace_misses"] for r in old_direct)]


def move_all(reshard, control, old_direct, n):
    """The move: `reshard` killed with SIGKILL once a third of the keys moved, then run again
    with the same state file. (killed, keys left on the old masters then, the resumed run's
    summary)."""
    reshard = [*reshard, "--state", str(control / "move.state")]
    first = subprocess.Popen(reshard, stdout=subprocess.PIPE)
    while first.poll() is None and sum(r.dbsize() for r in old_direct) > n * 2 // 3:
        time.sleep(0.05)
    if first.poll() is None:
        os.kill(first.pid, signal.SIGKILL)
    # Killed only if the signal ended it (it may have finished just before).
    killed = first.wait() == -signal.SIGKILL
    if first.returncode not in (0, -signal.SIGKILL):
        raise SystemExit(f"the first reshard failed: {first.returncode}")
    left_at_kill = sum(r.dbsize() for r in old_direct)
    second = subprocess.run(reshard, capture_output=True, text=True)
    if second.returncode != 0:
        raise SystemExit(f"the resumed reshard failed: {second.stdout} {second.stderr}")
    summary = json.loads(second.stdout)
    if killed and not summary["resumed"]:
        raise SystemExit("the reshard run after the kill did not resume from its state file")
    return killed, left_at_kill, summary


def copy_all(copy):
    """The control (--copy-only): the same keys copied at the same pace, nothing deleted."""
    run = subprocess.run(copy, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"the copy failed: {run.stdout} {run.stderr}")
    return False, None, json.loads(run.stdout)


def process_groups(old_ports, base, loads):
    """The pids of the bench's processes by what they do: the old masters, the cluster's
    masters and replicas (each server says its own pid and role), and the three clients."""
    groups = {"old masters": [], "cluster masters": [], "cluster replicas": []}
    for port in old_ports:
        groups["old masters"].append(redis.Redis(port=port).info("server")["process_id"])
    for port in range(base, base + 6):
        server = redis.Redis(port=port)
        role = server.info("replication")["role"]
        kind = "cluster masters" if role == "master" else "cluster replicas"
        groups[kind].append(server.info("server")["process_id"])
    groups["clients"] = [process.pid for _, _, process in loads]
    return groups


def group_cpu(groups):
    """CPU seconds so far (user + system) of each group's processes, from /proc/PID/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for group, pids in groups.items():
        total = 0
        for pid in pids:
            try:
                # The fields after the command's closing parenthesis; utime and stime are 12, 13.
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        out[group] = total / tick
    out["wall"] = time.monotonic()
    return out


def mover_seconds():
    """CPU seconds of the children waited for so far: the reshard runs, once they ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def phase_cpu(groups_at, phase, end, mover_cpu=None):
    """In a phase, each group's share of one core (1.0: a core busy all along)."""
    start, end = groups_at.get(phase), groups_at.get(end)
    if not start or not end:
        return {}
    seconds = max(1e-9, end.pop("wall") - start.pop("wall"))
    shares = {group: (end[group] - start[group]) / seconds for group in start}
    if mover_cpu is not None:
        shares["mover (the tool)"] = mover_cpu / seconds
    return {group: round(share, 3) for group, share in shares.items()}


def cpu_times():
    """The machine's CPU time so far, in clock ticks: (busy, steal, all) from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle, steal = ticks[3] + ticks[4], ticks[7]
    return sum(ticks) - idle - steal, steal, sum(ticks)


def machine_cpu(cpu_at):
    """Per phase, the share of the machine's CPU time busy and stolen by the hypervisor."""
    order = ("before", "window", "moving", "after", "closed", "stop")
    phases = [phase for phase in order if phase in cpu_at]  # --copy-only has no "closed"
    out = {}
    for phase, end in zip(phases, phases[1:], strict=False):
        (b0, s0, t0), (b1, s1, t1) = cpu_at[phase], cpu_at[end]
        total = max(1, t1 - t0)
        out[phase] = {"busy": round((b1 - b0) / total, 3), "steal": round((s1 - s0) / total, 3)}
    return out


def print_report(results):
    if results["copy_only"]:
        print(
            f"the control: {results['keys']} keys copied into the Redis Cluster in "
            f"{results['move_seconds']} s while the clients stayed on the old masters "
            f"(no window, nothing deleted): {results['resumed_summary']}"
        )
    else:
        print(
            f"{results['keys']} keys moved into the Redis Cluster in {results['move_seconds']} s "
            f"(killed with SIGKILL: {results['killed']}, {results['left_on_old_masters_at_kill']} "
            f"keys still on the old masters then; resumed run: {results['resumed_summary']})"
        )
    columns = ("reads", "failed", "p50 ms", "p99 ms", "max ms")
    print(f"{'client':<8} {'phase':<8} " + " ".join(f"{c:>8}" for c in columns))
    for client in CLIENTS:
        phases = results["clients"].get(client, {})
        for phase in ("before", "window", "moving", "after", "closed"):
            p = phases.get(phase)
            if p:
                ms = [p[k] / 1000 for k in ("p50_us", "p99_us", "max_us")]
                print(
                    f"{client:<8} {phase:<8} {p['reads']:>8} {p['failed']:>8} "
                    + " ".join(f"{v:>8.2f}" for v in ms)
                )
        if phases.get("before") and phases.get("moving"):
            ratio = phases["moving"]["p99_us"] / max(1, phases["before"]["p99_us"])
            print(f"{client:<8} read p99 during the move / before: {ratio:.2f}x")
        if phases.get("closed") and phases.get("moving"):
            ratio = phases["moving"]["p99_us"] / max(1, phases["closed"]["p99_us"])
            print(f"{client:<8} read p99 during the move / on the cluster alone: {ratio:.2f}x")
    shares = ", ".join(
        f"{phase} {c['busy']:.0%} busy, {c['steal']:.1%} stolen"
        for phase, c in results["machine_cpu"].items()
    )
    print(f"the machine's CPU: {shares}")
    for phase, shares in results["cpu_by_process"].items():
        listed = ", ".join(f"{g} {share:.0%}" for g, share in shares.items())
        print(f"{phase}, each one's share of a core: {listed}")
    asked = results["old_masters_asked"]
    print(
        f"during the move the old masters were asked {asked['exists']} times (EXISTS) and "
        f"lacked a key {asked['misses']} times (about 2 per read that then asked the cluster)"
    )
    marks = results["marks"]
    print(
        f"the move's marks: first on each old master after {marks['first_mark_seconds']} s; "
        f"none for {marks['share_without_mark']:.1%} of the move (masters x time)"
    )
    print(f"appends that acted on another value than the key's: {results['wrong_writes']}")
    print(
        f"checked {results['checked']} keys on the cluster: {results['lost']} lost, "
        f"{results['changed']} changed; {results['left_on_old_masters']} left on the old masters"
    )
    for line in results["failures"][:10] + results["examples"]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
