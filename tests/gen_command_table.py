#!/usr/bin/env python3
"""Generate crates/cluster-core/src/commands/table.rs from a real Redis server.

Starts its own redis-server (Debian package) on TABLE_GENERATOR_PORT from tests/ports.env,
reads COMMAND INFO (arity, flags, key specs of every command and subcommand) and COMMAND DOCS
(argument trees), and writes:

* the Rust command table, with each row's strategy taken from the STRATEGY rules below - the
  one place where the cluster's handling of a command is decided;
* crates/cluster-core/tests/data/command_samples.json: a sample argument list for every command
  with keys, synthesized from COMMAND DOCS, that the Rust test sends to a live server's
  COMMAND GETKEYS and compares with the table's own key positions.

`--check` regenerates in memory and exits 1 when either file differs (CI runs it).
Standard library only.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "crates/cluster-core/src/commands/table.rs"
SAMPLES = ROOT / "crates/cluster-core/tests/data/command_samples.json"

# ---------------------------------------------------------------------------------------------
# STRATEGY rules. Names are upper case; subcommands are "CONTAINER|SUB". Anything not listed is
# Single: every key on one node (keyless: node_1), which is what Redis itself requires.

SPLIT = {"MGET": "KeyOrder", "MSET": "AllOk", "DEL": "Sum", "UNLINK": "Sum", "EXISTS": "Sum", "TOUCH": "Sum"}

EMULATED = """SDIFF SINTER SUNION SDIFFSTORE SINTERSTORE SUNIONSTORE SINTERCARD SMOVE RENAME RENAMENX
COPY RPOPLPUSH LMOVE BRPOPLPUSH BLMOVE ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZUNION ZINTER ZDIFF
ZINTERCARD PFCOUNT PFMERGE MSETNX""".split()

# Routed by channel name, where subscribers to the channel listen.
CHANNEL = ["PUBLISH", "SPUBLISH"]

FAN_OUT_MERGED = {"DBSIZE": "Sum", "KEYS": "Concat", "RANDOMKEY": "Random", "SCAN": "Cursor",
                  "SCRIPT|LOAD": "Same", "FUNCTION|LOAD": "Same"}

# Server-wide commands: every master, answered as a map node_k -> reply.
FAN_OUT_PER_NODE = """INFO PING CONFIG|GET CONFIG|SET CONFIG|RESETSTAT CONFIG|REWRITE LASTSAVE SAVE
BGSAVE BGREWRITEAOF TIME CLIENT|LIST CLIENT|KILL SLOWLOG|GET SLOWLOG|LEN SLOWLOG|RESET
MEMORY|STATS MEMORY|DOCTOR MEMORY|MALLOC-STATS MEMORY|PURGE LATENCY|DOCTOR LATENCY|GRAPH
LATENCY|HISTOGRAM LATENCY|HISTORY LATENCY|LATEST LATENCY|RESET FLUSHDB FLUSHALL SWAPDB
SCRIPT|EXISTS SCRIPT|FLUSH SCRIPT|KILL FUNCTION|LIST FUNCTION|DUMP FUNCTION|STATS
FUNCTION|DELETE FUNCTION|FLUSH FUNCTION|RESTORE FUNCTION|KILL ACL|LIST ACL|USERS
ACL|SETUSER ACL|DELUSER ACL|GETUSER ACL|SAVE ACL|LOAD ACL|LOG ACL|DRYRUN MODULE|LIST
MODULE|LOAD MODULE|UNLOAD MODULE|LOADEX PUBSUB|CHANNELS PUBSUB|NUMSUB PUBSUB|NUMPAT
PUBSUB|SHARDCHANNELS PUBSUB|SHARDNUMSUB ROLE""".split()

# Per-connection state that a pooled, sharded client cannot honour: refused, CONNECTION flag.
CONNECTION_SCOPED = {
    "transactions go through the cluster's pipeline API": "MULTI EXEC DISCARD WATCH UNWATCH",
    "the database is chosen once, by `db` in the cluster config": "SELECT",
    "credentials and protocol are set in the cluster config": "AUTH HELLO RESET",
    "connections are managed by the cluster's pools": "QUIT",
    "subscriptions need a dedicated connection: use the pub/sub API": (
        "SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE"
    ),
    "it takes over a connection for replication or monitoring": "MONITOR SYNC PSYNC REPLCONF",
    "it is a Redis Cluster connection mode; this is client-side sharding": "READONLY READWRITE ASKING",
    "it changes or reads the state of one pooled connection": (
        "CLIENT|SETNAME CLIENT|GETNAME CLIENT|REPLY CLIENT|TRACKING CLIENT|TRACKINGINFO CLIENT|CACHING "
        "CLIENT|NO-EVICT CLIENT|GETREDIR CLIENT|ID CLIENT|INFO CLIENT|PAUSE CLIENT|UNPAUSE "
        "CLIENT|UNBLOCK CLIENT|SETINFO CLIENT|NO-TOUCH"
    ),
    "it waits for the writes of one connection": "WAIT WAITAOF",
}

# Dangerous or topology-changing on a sharded set: refused, no CONNECTION flag.
REFUSED = {
    "stop servers with your own tooling, not through a client of all of them": "SHUTDOWN",
    "replication topology is managed outside the client": "REPLICAOF SLAVEOF FAILOVER",
    "this is client-side sharding, not Redis Cluster": "CLUSTER RESTORE-ASKING",
    "it acts on one server's internals: connect to that server directly": "DEBUG",
    "it moves keys outside the placement contract: use `rediscluster copy`": "MIGRATE",
    "script debugging needs a dedicated connection": "SCRIPT|DEBUG",
}

# Keyless admin commands that stay Single (one answer is the answer everywhere), listed so the
# "every keyless admin command needs a decision" guard below passes only for deliberate choices.
SINGLE_ADMIN = """ACL|WHOAMI ACL|CAT ACL|GENPASS ACL|HELP COMMAND COMMAND|COUNT COMMAND|DOCS
COMMAND|INFO COMMAND|LIST COMMAND|GETKEYS COMMAND|GETKEYSANDFLAGS COMMAND|HELP LOLWUT
CONFIG|HELP CLIENT|HELP MEMORY|HELP LATENCY|HELP SLOWLOG|HELP MODULE|HELP SCRIPT|HELP
FUNCTION|HELP OBJECT|HELP XINFO|HELP XGROUP|HELP PUBSUB|HELP MEMORY|USAGE PFSELFTEST""".split()

REDIS_FLAGS = {
    "readonly": "READ",
    "write": "WRITE",
    "admin": "ADMIN",
    "blocking": "BLOCKING",
    "pubsub": "PUBSUB",
    "noscript": "NOSCRIPT",
    "movablekeys": "MOVABLE_KEYS",
}


def decisions():
    """name -> (strategy Rust expression, extra flag or None)."""
    out = {}

    def put(name, strategy, flag=None):
        if name in out:
            raise SystemExit(f"STRATEGY: {name} is decided twice")
        out[name] = (strategy, flag)

    for name, merge in SPLIT.items():
        put(name, f"Strategy::Split(Merge::{merge})")
    for name in EMULATED:
        put(name, "Strategy::Emulated")
    for name in CHANNEL:
        put(name, "Strategy::Channel")
    for name, merge in FAN_OUT_MERGED.items():
        put(name, f"Strategy::FanOut(Merge::{merge})")
    for name in FAN_OUT_PER_NODE:
        put(name, "Strategy::FanOut(Merge::PerNode)")
    for reason, names in CONNECTION_SCOPED.items():
        for name in names.split():
            put(name, f"Strategy::Refused({json.dumps(reason)})", "CONNECTION")
    for reason, names in REFUSED.items():
        for name in names.split():
            put(name, f"Strategy::Refused({json.dumps(reason)})")
    for name in SINGLE_ADMIN:
        put(name, "Strategy::Single")
    return out


# ---------------------------------------------------------------------------------------------
# A minimal RESP2 client: enough for COMMAND INFO / DOCS.


class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 16)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ValueError(f"unexpected RESP {line!r}")


def pairs(flat):
    """A RESP2 flat map [k1, v1, k2, v2] as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


class Server:
    """Our own redis-server, stopped by its pid."""

    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="rediscluster-gen-")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                self.client = Resp(port)
                self.client.call("PING")
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise SystemExit(f"redis-server did not start on port {port}")
                time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def generator_port():
    for line in (ROOT / "tests/ports.env").read_text().splitlines():
        if line.startswith("TABLE_GENERATOR_PORT="):
            return int(line.split("=", 1)[1])
    raise SystemExit("TABLE_GENERATOR_PORT missing from tests/ports.env")


# ---------------------------------------------------------------------------------------------
# COMMAND INFO -> rows.


def key_spec(raw):
    """A Rust key spec expression; None for keys named by the data (flagged DATA_KEYS)."""
    spec = pairs(raw)
    if "not_key" in spec.get("flags", []):
        return None  # a channel (SPUBLISH, SSUBSCRIBE): never tag-stripped, not a key
    begin, find = pairs(spec["begin_search"]), pairs(spec["find_keys"])
    if begin["type"] == "unknown" or find["type"] == "unknown":
        notes = spec.get("notes", "")
        if "STORE" in notes:
            return "ks(sort_store(), range(0, 1, 0))"  # SORT's destination: walked like Redis does
        if "BY/GET" in notes:
            return None  # keys named by the data: DATA_KEYS, refused when patterns are used
        raise SystemExit(f"unknown key spec the generator has no rule for: {spec}")
    bspec, fspec = pairs(begin["spec"]), pairs(find["spec"])
    if begin["type"] == "index":
        b = f"index({bspec['index']})"
    else:
        b = f"keyword({json.dumps(bspec['keyword'])}, {bspec['startfrom']})"
    if find["type"] == "range":
        f = f"range({fspec['lastkey']}, {fspec['keystep']}, {fspec['limit']})"
    else:
        f = f"keynum({fspec['keynumidx']}, {fspec['firstkey']}, {fspec['keystep']})"
    maker = "ks_incomplete" if "incomplete" in spec.get("flags", []) else "ks"
    return f"{maker}({b}, {f})"


UNDECIDED = []  # keyless admin commands without a decision: the generator refuses to guess


def row(info, full_name, decided, used, inherited=None):
    """One table row; a subcommand without a decision of its own takes its container's."""
    name, arity, flags = info[0], info[1], info[2]
    specs = [s for s in (key_spec(k) for k in info[8]) if s is not None]
    data_keys = any("BY/GET" in pairs(k).get("notes", "") for k in info[8])
    own = decided.get(full_name, inherited)
    strategy, extra = own or ("Strategy::Single", None)
    used.add(full_name)
    if own is None and not specs and "admin" in flags and not info[9]:
        UNDECIDED.append(full_name)
    flag_names = [REDIS_FLAGS[f] for f in flags if f in REDIS_FLAGS] + ([extra] if extra else [])
    flag_names += ["DATA_KEYS"] if data_keys else []
    subs = sorted(info[9] or [], key=lambda s: s[0].upper())
    sub_rows = [row(s, s[0].upper(), decided, used, decided.get(full_name)) for s in subs]
    return {
        "name": name.split("|")[-1].upper(),
        "arity": arity,
        "flags": flag_names,
        "keys": specs,
        "strategy": strategy,
        "subs": sub_rows,
    }


def render_row(r, indent):
    """One command per line; a container's subcommands on the lines below it."""
    pad = " " * indent
    flags = "Flags(" + (" | ".join(r["flags"]) or "0") + ")"
    keys = "&[" + ", ".join(r["keys"]) + "]"
    strategy = r["strategy"].replace("Strategy::", "").replace("Merge::", "")
    head = f'{pad}cmd({json.dumps(r["name"])}, {r["arity"]}, {flags}, {keys}, {strategy}, '
    if not r["subs"]:
        return head + "&[]),\n"
    return head + "&[\n" + "".join(render_row(s, indent + 4) for s in r["subs"]) + pad + "]),\n"


def render_table(rows, version):
    flag_consts = "".join(f"const {f}: u16 = Flags::{f}.0;\n" for f in list(REDIS_FLAGS.values()) + ["CONNECTION", "DATA_KEYS"])
    head = f"""//! The command table: generated by `tests/gen_command_table.py` from Redis {version}'s
//! `COMMAND INFO`. Strategies come from the STRATEGY rules in that script: edit the script and
//! run it again, do not edit this file. Rows are sorted by name (`lookup` binary-searches).
//!
//! `cmd(name, arity, flags, key specs, strategy, subcommands)`; key specs are Redis 7's:
//! `index(i)` or `keyword(word, start)`, then `range(last, step, limit)` or
//! `keynum(index, first, step)`.

use super::spec::Merge::{{AllOk, Concat, Cursor, KeyOrder, PerNode, Random, Same, Sum}};
use super::spec::Strategy::{{Channel, Emulated, FanOut, Refused, Single, Split}};
use super::spec::{{
    CommandSpec, Flags, KeySpec, Strategy, index, keynum, keyword, ks, ks_incomplete, range,
    sort_store,
}};

{flag_consts}
const fn cmd(
    name: &'static str,
    arity: i32,
    flags: Flags,
    keys: &'static [KeySpec],
    strategy: Strategy,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {{
    CommandSpec {{
        name,
        arity,
        flags,
        keys,
        strategy,
        subcommands,
    }}
}}

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
"""
    return head + "".join(render_row(r, 4) for r in rows) + "];\n"


# ---------------------------------------------------------------------------------------------
# COMMAND DOCS -> a sample argument list per command with keys.


class Sampler:
    def __init__(self):
        self.n = 0

    def fresh_key(self):
        self.n += 1
        return f"key{self.n}"

    def arg(self, a):
        a = pairs(a)
        flags = a.get("flags", [])
        if "optional" in flags:
            return []
        times = 2 if "multiple" in flags else 1
        out = []
        for _ in range(times):
            if a.get("token") and (not out or "multiple_token" in flags):
                out.append(a["token"])
            out.extend(self.value(a))
        return out

    def value(self, a):
        t = a["type"]
        if t == "pure-token":
            return []
        if t == "key":
            return [self.fresh_key()]
        if t == "block":
            return [x for sub in a["arguments"] for x in self.arg(sub)]
        if t == "oneof":
            return self.oneof(a["arguments"])
        if t == "integer":
            return ["2" if a["name"] in ("numkeys", "numfunctions") else "1"]
        if t == "double":
            return ["1.5"]
        if t == "unix-time":
            return ["1"]
        if t == "pattern":
            return ["*"]
        return [a.get("value") if isinstance(a.get("value"), str) else "s"]

    def oneof(self, branches):
        first = pairs(branches[0])
        first["flags"] = [f for f in first.get("flags", []) if f != "optional"]
        flat = [x for kv in first.items() for x in kv]
        return self.arg(flat)


def sample(full_name, docs):
    words = full_name.lower().split("|")
    s = Sampler()
    args = [x for a in pairs(docs).get("arguments", []) or [] for x in s.arg(a)]
    return words + args


# Hand-written invocations for shapes the synthesis cannot know (numkeys that must match, ids
# after STREAMS, keywords searched from the end), and for tricky options worth pinning.
HAND_SAMPLES = [
    ["EVAL", "return 1", "0"],
    ["EVAL", "return 1", "2", "a", "b", "argv1"],
    ["EVALSHA", "0000000000000000000000000000000000000000", "1", "a", "argv"],
    ["EVAL_RO", "return 1", "2", "a", "b"],
    ["EVALSHA_RO", "0000000000000000000000000000000000000000", "1", "a"],
    ["FCALL", "f", "2", "a", "b", "argv"],
    ["FCALL_RO", "f", "1", "a"],
    ["ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2", "AGGREGATE", "MAX"],
    ["ZINTERSTORE", "dst", "3", "a", "b", "c"],
    ["ZDIFFSTORE", "dst", "2", "a", "b"],
    ["ZUNION", "2", "a", "b", "WITHSCORES"],
    ["ZINTER", "2", "a", "b"],
    ["ZDIFF", "3", "a", "b", "c"],
    ["ZINTERCARD", "2", "a", "b", "LIMIT", "1"],
    ["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
    ["LMPOP", "2", "a", "b", "LEFT", "COUNT", "1"],
    ["BLMPOP", "0", "2", "a", "b", "LEFT"],
    ["ZMPOP", "2", "a", "b", "MIN"],
    ["BZMPOP", "0", "2", "a", "b", "MAX", "COUNT", "2"],
    ["XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"],
    ["XREAD", "BLOCK", "0", "STREAMS", "a", "$"],
    ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "a", "b", ">", ">"],
    ["GEORADIUS", "src", "0", "0", "1", "km", "STORE", "dst", "STOREDIST", "dst2"],
    ["GEORADIUSBYMEMBER", "src", "m", "1", "km", "STOREDIST", "dst"],
    ["GEOSEARCHSTORE", "dst", "src", "FROMMEMBER", "m", "BYRADIUS", "1", "km"],
    ["SORT", "k", "STORE", "dst"],
    ["SORT", "k", "BY", "nosort", "LIMIT", "0", "1", "GET", "#", "STORE", "a", "STORE", "dst", "ALPHA"],
    ["SORT", "k", "GET", "STORE", "ALPHA"],
    ["SORT", "k", "LIMIT", "0", "1", "ALPHA"],
    ["SORT_RO", "k", "ALPHA"],
    ["MIGRATE", "127.0.0.1", "1", "k", "0", "10"],
    ["MIGRATE", "127.0.0.1", "1", "", "0", "10", "KEYS", "a", "b"],
    ["LCS", "a", "b", "LEN"],
    ["SET", "k", "v", "GET", "EX", "10"],
    ["BITFIELD", "k", "GET", "u8", "0"],
    ["BITFIELD_RO", "k", "GET", "u8", "0"],
    ["BITOP", "AND", "dst", "a", "b"],
    ["OBJECT", "ENCODING", "k"],
    ["MEMORY", "USAGE", "k", "SAMPLES", "5"],
    ["XINFO", "STREAM", "k", "FULL"],
    ["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"],
    ["MSET", "a", "1", "b", "2", "c", "3"],
    ["MSETNX", "a", "1", "b", "2"],
    ["DEL", "a", "b", "c"],
    ["BLPOP", "a", "b", "0"],
    ["BRPOPLPUSH", "a", "b", "0"],
    ["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
    ["RENAME", "a", "b"],
    ["COPY", "a", "b", "DB", "1", "REPLACE"],
    ["PFMERGE", "dst", "a", "b"],
    ["SMOVE", "a", "b", "m"],
]


# ---------------------------------------------------------------------------------------------


def generate():
    server = Server(generator_port())
    try:
        client = server.client
        version = pairs(
            [x for line in client.call("INFO", "server").splitlines() if ":" in line for x in line.split(":", 1)]
        )["redis_version"]
        infos = sorted(client.call("COMMAND", "INFO"), key=lambda c: c[0].upper())
        docs_flat = client.call("COMMAND", "DOCS")
        docs = {k.upper(): v for k, v in pairs(docs_flat).items()}
        for name, d in list(docs.items()):
            for sub, sd in pairs(pairs(d).get("subcommands", []) or []).items():
                docs[sub.upper()] = sd
    finally:
        server.stop()

    decided = decisions()
    used = set()
    rows = [row(info, info[0].upper(), decided, used) for info in infos]
    if UNDECIDED:
        raise SystemExit(f"STRATEGY: keyless admin commands need an explicit decision: {UNDECIDED}")
    unknown = sorted(set(decided) - used - {"WAITAOF", "CLIENT|SETINFO", "CLIENT|NO-TOUCH"})
    if unknown:
        raise SystemExit(f"STRATEGY names commands this server does not have: {unknown}")

    samples = []
    for r in rows:
        for full, entry in [(r["name"], r)] + [(f"{r['name']}|{s['name']}", s) for s in r["subs"]]:
            if entry["keys"]:
                samples.append(sample(full, docs.get(full, [])))
    def lines(rows):
        return ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows)

    sample_file = (f'{{"redis_version": {json.dumps(version)},\n "synthesized": [\n{lines(samples)}\n ],\n'
                   f' "hand": [\n{lines(HAND_SAMPLES)}\n ]}}\n')
    return render_table(rows, version), sample_file


def rustfmt(text):
    out = subprocess.run(["rustfmt", "--edition", "2024", "--emit", "stdout", "--quiet"],
                         input=text, capture_output=True, text=True, cwd=ROOT, check=True)
    return out.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the generated files differ")
    args = parser.parse_args()
    table, samples = generate()
    table = rustfmt(table)
    outputs = {TABLE: table, SAMPLES: samples}
    if args.check:
        stale = [str(p.relative_to(ROOT)) for p, text in outputs.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"out of date: {', '.join(stale)}; run tests/gen_command_table.py", file=sys.stderr)
            return 1
        return 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
