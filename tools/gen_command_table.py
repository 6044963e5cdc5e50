#!/usr/bin/env python3
"""Generate crates/cluster-core/src/commands/table.rs from a snapshot of Redis's COMMAND INFO.

The snapshot (tools/redis-commands.json: COMMAND INFO and COMMAND DOCS of one Redis release, as
JSON) is in the repository, so the table, and `--check`, give the same answer whatever
redis-server is installed. Each row's strategy (how the cluster runs the command) comes from the
STRATEGY rules below: the one place where that is decided.

Usage
  python3 tools/gen_command_table.py              rewrite table.rs from the snapshot (rustfmt'd)
  python3 tools/gen_command_table.py --check      exit 1 if table.rs differs (`make test`)
  python3 tools/gen_command_table.py --refresh    read COMMAND INFO/DOCS from the installed
                                                  redis-server into the snapshot, then rewrite
                                                  table.rs (`make refresh-commands`)
  --port PORT                                     the refresh's own server's loopback port

`--refresh` starts its own short-lived redis-server (the Debian package; port
TABLE_GENERATOR_PORT from tests/ports.env unless --port says otherwise; its own temporary
directory; no persistence), reads it with a tiny RESP2 client and stops it by its pid (also on
error or Ctrl-C).

The output is deterministic: rows sorted bytewise by upper-case name (the table is
binary-searched), subcommands sorted the same way. The Rust test
crates/cluster-core/tests/command_table.rs checks the table against the snapshot and against a
live server (COMMAND GETKEYS). Standard library only.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "crates/cluster-core/src/commands/table.rs"
SNAPSHOT = ROOT / "tools/redis-commands.json"
SCRIPT = "tools/gen_command_table.py"

# =============================================================================================
# STRATEGY rules
#
# Explicit decisions, by name: upper case, a subcommand as "CONTAINER|SUB". Each group below is
# one strategy; `STRATEGY` (built from them, each name once) maps name -> (strategy, extra flag).
# Default rules, for every name without an explicit decision (`decide()`):
#   1. a subcommand takes its container's decision (all of CLUSTER is refused);
#   2. a HELP subcommand is Single (any node knows its help text);
#   3. everything else is Single: all keys must share one node, a keyless command goes to the
#      default node (node_1) - exactly what one Redis server requires;
#   but a keyless `admin` command may not fall through to rules 2 and 3: the generator stops and
#   lists it, so each new server-wide command gets a deliberate decision (FanOut, Single or
#   Refused).
# Refused reasons follow "<COMMAND> is not supported by rediscluster: ": why, and what to do.

# Independent keys, one sub-command per node, replies merged (SplitMerge).
SPLIT = {
    "MGET": "KeyOrder",  # values in the caller's key order
    "MSET": "AllOk",
    "DEL": "Sum",
    "UNLINK": "Sum",
    "EXISTS": "Sum",
    "TOUCH": "Sum",
}

# Composed in the core from per-node reads and writes when the keys span nodes (not atomic then):
# each names its emulation (the Emulation enum, crates/cluster-core/src/commands/spec.rs).
EMULATED = {
    "SUNION": "SetAlgebra(SetOp::Union)",
    "SINTER": "SetAlgebra(SetOp::Inter)",
    "SDIFF": "SetAlgebra(SetOp::Diff)",
    "SUNIONSTORE": "SetAlgebraStore(SetOp::Union)",
    "SINTERSTORE": "SetAlgebraStore(SetOp::Inter)",
    "SDIFFSTORE": "SetAlgebraStore(SetOp::Diff)",
    "SINTERCARD": "SetInterCard",
    "SMOVE": "SetMove",
    "ZUNION": "SortedSetAlgebra(SetOp::Union)",
    "ZINTER": "SortedSetAlgebra(SetOp::Inter)",
    "ZDIFF": "SortedSetAlgebra(SetOp::Diff)",
    "ZUNIONSTORE": "SortedSetAlgebraStore(SetOp::Union)",
    "ZINTERSTORE": "SortedSetAlgebraStore(SetOp::Inter)",
    "ZDIFFSTORE": "SortedSetAlgebraStore(SetOp::Diff)",
    "ZINTERCARD": "SortedSetInterCard",
    "RENAME": "Rename { only_if_new: false }",
    "RENAMENX": "Rename { only_if_new: true }",
    "COPY": "CopyKey",
    "MSETNX": "MSetNx",
    "PFCOUNT": "HyperLogLogCount",
    "PFMERGE": "HyperLogLogMerge",
    "RPOPLPUSH": "ListMove { ends: Some((End::Right, End::Left)), blocking: false }",
    "LMOVE": "ListMove { ends: None, blocking: false }",
    "BRPOPLPUSH": "ListMove { ends: Some((End::Right, End::Left)), blocking: true }",
    "BLMOVE": "ListMove { ends: None, blocking: true }",
    "BLPOP": "PopFirst { pop: Pop::List(End::Left), timeout: TimeoutAt::Last }",
    "BRPOP": "PopFirst { pop: Pop::List(End::Right), timeout: TimeoutAt::Last }",
    "BZPOPMIN": "PopFirst { pop: Pop::SortedSet(Extreme::Min), timeout: TimeoutAt::Last }",
    "BZPOPMAX": "PopFirst { pop: Pop::SortedSet(Extreme::Max), timeout: TimeoutAt::Last }",
    "LMPOP": "PopFirst { pop: Pop::ListMany, timeout: TimeoutAt::Nowhere }",
    "ZMPOP": "PopFirst { pop: Pop::SortedSetMany, timeout: TimeoutAt::Nowhere }",
    "BLMPOP": "PopFirst { pop: Pop::ListMany, timeout: TimeoutAt::First }",
    "BZMPOP": "PopFirst { pop: Pop::SortedSetMany, timeout: TimeoutAt::First }",
    "BITOP": "OnDestination(Destination::FirstKey)",
    "ZRANGESTORE": "OnDestination(Destination::FirstKey)",
    "GEOSEARCHSTORE": "OnDestination(Destination::FirstKey)",
    # Reads two keys, writes none: run where the first is, with a copy of the second.
    "LCS": "OnDestination(Destination::FirstKey)",
    "GEORADIUS": "OnDestination(Destination::LastKey)",  # STORE / STOREDIST
    "GEORADIUSBYMEMBER": "OnDestination(Destination::LastKey)",
    "SORT": "Sort { read_only: false }",
    "SORT_RO": "Sort { read_only: true }",
}

# Replies that name the key they came from (`[key, element]`): sent with tags stripped, the
# server names the stored key, and the caller gets the key as written (our NAMES_KEY flag).
NAMES_KEY = """
BLPOP BRPOP BZPOPMIN BZPOPMAX LMPOP ZMPOP BLMPOP BZMPOP
""".split()

# Routed by the channel name, to the node where the cluster's subscribers to it listen.
CHANNEL = ["PUBLISH", "SPUBLISH"]

# Server-wide, one merged answer (FanOutMerge): the whole cluster does one thing (or must agree
# on one answer).
FAN_OUT_MERGED = {
    "DBSIZE": "Sum",
    "KEYS": "Concat",
    "RANDOMKEY": "Random",  # a key of a non-empty node, picked at random
    "SCRIPT|LOAD": "Same",  # the sha every node agrees on
    "FUNCTION|LOAD": "Same",  # the library name every node agrees on
    # "Do this everywhere": OK when every master did it, else the first error, naming its node.
    "PING": "Same",  # PONG (or the echoed message) when every master answers
    "FLUSHDB": "AllOk",
    "FLUSHALL": "AllOk",
    "SAVE": "AllOk",
    "SWAPDB": "AllOk",
    "CONFIG|SET": "AllOk",
    "CONFIG|RESETSTAT": "AllOk",
    "CONFIG|REWRITE": "AllOk",
    "SLOWLOG|RESET": "AllOk",
    "LATENCY|RESET": "Sum",  # event types reset, over the cluster
    "MEMORY|PURGE": "AllOk",
    "SCRIPT|FLUSH": "AllOk",
    "FUNCTION|DELETE": "AllOk",
    "FUNCTION|FLUSH": "AllOk",
    "FUNCTION|RESTORE": "AllOk",
    "MODULE|LOAD": "AllOk",
    "MODULE|LOADEX": "AllOk",
    "MODULE|UNLOAD": "AllOk",
    # Users, functions and modules are set on every master alike (the commands above), so the
    # masters must agree; a disagreement is an error naming both nodes, never a silent pick.
    "ACL|SETUSER": "AllOk",
    "ACL|DELUSER": "Same",
    "ACL|SAVE": "AllOk",
    "ACL|LOAD": "AllOk",
    "ACL|LIST": "Same",
    "ACL|USERS": "Same",
    "ACL|GETUSER": "Same",
    "ACL|DRYRUN": "Same",
    "FUNCTION|LIST": "Same",
    "FUNCTION|DUMP": "Same",
    "MODULE|LIST": "Same",
    # Every master's clients in one CLIENT LIST text (each line's laddr names its server);
    # CLIENT KILL kills wherever the client is, and fails only if no master had it.
    "CLIENT|LIST": "Lines",
    "CLIENT|KILL": "AnyOk",
    "CLIENT|PAUSE": "AllOk",
    "CLIENT|UNPAUSE": "AllOk",
    # The instant since which every master has saved: the oldest of their last saves.
    "LASTSAVE": "Min",
}

# Walked master after master: the cursor names the node and its own cursor (one walk visits
# every master once).
WALK = ["SCAN"]

# Server-wide, where each master's own state is the answer: a map node_k -> reply.
FAN_OUT_PER_NODE = """
INFO ROLE BGSAVE BGREWRITEAOF
CONFIG|GET
SLOWLOG|GET SLOWLOG|LEN
MEMORY|STATS MEMORY|DOCTOR MEMORY|MALLOC-STATS
LATENCY|DOCTOR LATENCY|GRAPH LATENCY|HISTOGRAM LATENCY|HISTORY LATENCY|LATEST
SCRIPT|EXISTS SCRIPT|KILL
FUNCTION|STATS FUNCTION|KILL
ACL|LOG
PUBSUB|CHANNELS PUBSUB|NUMSUB PUBSUB|NUMPAT PUBSUB|SHARDCHANNELS PUBSUB|SHARDNUMSUB
""".split()

# Connection settings kept for the whole client (node/session.rs): every pooled connection takes
# them on before its next command.
SESSION = {
    "AUTH": "Auth",
    "SELECT": "Select",
    "CLIENT|SETNAME": "SetName",
    "CLIENT|GETNAME": "GetName",
    "CLIENT|NO-EVICT": "NoEvict",
    "RESET": "Reset",
    "QUIT": "Quit",
}

# Per-connection state a pooled, sharded client cannot honour: refused.
CONNECTION_SCOPED = {
    "a transaction needs one connection on one node: use the cluster's transaction pipeline, "
    "which runs MULTI/EXEC on the node of its keys": "MULTI EXEC DISCARD",
    "WATCH needs one connection held until EXEC: use the cluster's watch API (Cluster::watch), "
    "which holds a connection of the watched keys' node for the commands and the transaction "
    "that follow, and ends with its transaction or unwatch": "WATCH UNWATCH",
    "pooled connections speak RESP2 and are set up from the config: set `username` and "
    "`password` in the cluster config, or use AUTH": "HELLO",
    "subscriptions need a dedicated connection to each node: use the cluster's pub/sub API": (
        "SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE"
    ),
    "it turns the connection into a replication or monitoring stream: connect to the node "
    "directly": "MONITOR SYNC PSYNC REPLCONF",
    "it is a Redis Cluster connection mode, and this is client-side sharding: replica reads "
    "are chosen by `mastersonly` in the cluster config": "READONLY READWRITE ASKING",
    "it changes how one pooled connection answers its next commands, which another caller may "
    "send: connect to the node directly for connection-level features": (
        "CLIENT|REPLY CLIENT|CACHING CLIENT|NO-TOUCH CLIENT|SETINFO"
    ),
    "client-side caching needs its own connection to every node for invalidations, which this "
    "client does not keep: connect to the node directly": "CLIENT|TRACKING",
    "it waits for replicas to acknowledge this connection's writes, and the cluster writes "
    "through many pooled connections: check INFO replication on the node instead": "WAIT WAITAOF",
}

# About one of the client's own connections: answered on node_1 (where keyless commands go),
# so CLIENT ID and CLIENT UNBLOCK / CLIENT INFO name the same server.
CONNECTION_ON_DEFAULT_NODE = """
CLIENT|ID CLIENT|INFO CLIENT|GETREDIR CLIENT|TRACKINGINFO CLIENT|UNBLOCK
""".split()

# Dangerous or topology-changing on a sharded set: refused.
REFUSED = {
    "stopping every server through one client is too dangerous: stop servers with your own "
    "tooling": "SHUTDOWN",
    "the replication topology comes from the cluster config: change it on the servers, then in "
    "the config": "REPLICAOF SLAVEOF FAILOVER",
    "this is not Redis Cluster: independent masters with client-side sharding have no slots "
    "and no cluster bus": "CLUSTER RESTORE-ASKING",
    "it acts on one server's internals: connect to that server directly": "DEBUG",
    "it moves keys between servers behind the placement contract's back: use `rediscluster "
    "copy`": "MIGRATE",
    "script debugging takes over a dedicated connection: debug against one server with "
    "`redis-cli --ldb`": "SCRIPT|DEBUG",
}

# Keyless commands that deliberately stay Single (on node_1): any one node's answer is the
# answer. TIME too: code reads it to compute EXPIREAT/PXAT instants and needs one clock, not a
# map (each node's own clock: `execute_on`).
SINGLE = """
TIME ACL|WHOAMI ACL|CAT ACL|GENPASS COMMAND COMMAND|COUNT COMMAND|DOCS COMMAND|INFO COMMAND|LIST
COMMAND|GETKEYS COMMAND|GETKEYSANDFLAGS LOLWUT PFSELFTEST
""".split()

# Decided for newer servers than the one generating; absent from the table when the server lacks
# them. Every other name in STRATEGY must exist on the server (a typo guard).
IF_PRESENT = {"WAITAOF", "CLIENT|SETINFO", "CLIENT|NO-TOUCH"}

# Redis COMMAND INFO flag -> our Flags constant (DATA_KEYS and NAMES_KEY are ours).
REDIS_FLAGS = {
    "readonly": "READ",
    "write": "WRITE",
    "admin": "ADMIN",
    "blocking": "BLOCKING",
    "pubsub": "PUBSUB",
    "noscript": "NOSCRIPT",
    "movablekeys": "MOVABLE_KEYS",
}
OUR_FLAGS = ["DATA_KEYS", "NAMES_KEY"]


def rust_str(text):
    """A Rust string literal (JSON's escapes are Rust's for ASCII text)."""
    if not text.isascii():
        raise SystemExit(f"keep generated strings ASCII: {text!r}")
    return json.dumps(text)


def build_strategy():
    """name -> (Rust strategy expression, extra flag or None); each name decided once."""
    out = {}

    def put(names, strategy, flag=None):
        for name in names:
            if name in out:
                raise SystemExit(f"STRATEGY: {name} is decided twice")
            if name != name.upper() or " " in name:
                raise SystemExit(f"STRATEGY: {name!r} is not an upper-case command name")
            out[name] = (strategy, flag)

    for name, merge in SPLIT.items():
        put([name], f"Split(SplitMerge::{merge})")
    for name, emulation in EMULATED.items():
        put([name], f"Emulated(Emulation::{emulation})")
    put(CHANNEL, "Channel")
    for name, merge in FAN_OUT_MERGED.items():
        put([name], f"FanOut(FanOutMerge::{merge})")
    put(WALK, "Walk")
    put(FAN_OUT_PER_NODE, "FanOut(FanOutMerge::PerNode)")
    for name, command in SESSION.items():
        put([name], f"Session(SessionCommand::{command})")
    put(CONNECTION_ON_DEFAULT_NODE, "Single")
    for reason, names in CONNECTION_SCOPED.items():
        put(names.split(), f"Refused({rust_str(reason)})")
    for reason, names in REFUSED.items():
        put(names.split(), f"Refused({rust_str(reason)})")
    put(SINGLE, "Single")
    missing = IF_PRESENT - out.keys()
    if missing:
        raise SystemExit(f"IF_PRESENT names without a decision: {sorted(missing)}")
    for name in NAMES_KEY:
        if name not in EMULATED:
            raise SystemExit(f"NAMES_KEY: {name} is not one of the EMULATED pops")
    return out


STRATEGY = build_strategy()


def decide(full_name, container_decision, info):
    """The (strategy, extra flag) of one command; None when a decision is required but missing.
    The extra flag is NAMES_KEY (the only one a rule adds)."""
    if full_name in STRATEGY:
        strategy, _ = STRATEGY[full_name]
        return (strategy, "NAMES_KEY" if full_name in NAMES_KEY else None)
    if container_decision is not None:
        return container_decision  # rule 1
    keyless = not [s for s in info.key_specs if "not_key" not in s.get("flags", [])]
    if keyless and "admin" in info.flags and not info.subcommands:
        return None  # needs an explicit decision
    return ("Single", None)  # rule 2 (HELP) and rule 3


# =============================================================================================
# Our own redis-server, and a minimal RESP2 client.


class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill(len(self.buf) + 1)
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
            self._fill(n + 2)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ValueError(f"unexpected RESP reply {line!r}")

    def close(self):
        self.sock.close()


class Server:
    """A redis-server child of this process, stopped by its own pid (never by name)."""

    def __init__(self, port):
        self.port = port
        self.proc = None
        self.client = None
        self.dir = tempfile.mkdtemp(prefix="rediscluster-gen-table-")
        self.log = os.path.join(self.dir, "server.log")

    def __enter__(self):
        try:
            return self._start()
        except BaseException:
            self.__exit__()  # __exit__ is not called when __enter__ raises
            raise

    def _start(self):
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                self.dir,
                "--logfile",
                self.log,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Ready when *our* child says so: a port taken by someone else's server would answer
        # PING too, while our child exits.
        deadline = time.monotonic() + 10
        while "Ready to accept connections" not in self._log_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"redis-server did not start on port {self.port} (port taken?):\n"
                    f"{self._log_text()[-2000:]}"
                )
            time.sleep(0.02)
        self.client = Resp(self.port)
        pid = info_fields(self.client.call("INFO", "server")).get("process_id")
        if pid != str(self.proc.pid):
            raise SystemExit(f"port {self.port} is answered by pid {pid}, not by our redis-server")
        return self

    def _log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __exit__(self, *exc):
        if self.client:
            self.client.close()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def info_fields(text):
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def generator_port():
    for line in (ROOT / "tests/ports.env").read_text().splitlines():
        if line.startswith("TABLE_GENERATOR_PORT="):
            return int(line.split("=", 1)[1])
    raise SystemExit("TABLE_GENERATOR_PORT missing from tests/ports.env")


def pairs(flat):
    """A RESP2 flat map [k1, v1, k2, v2, ...] as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


class Info:
    """One COMMAND INFO entry."""

    def __init__(self, raw):
        self.name = raw[0].upper()  # CONFIG|GET for subcommands
        self.arity = raw[1]
        self.flags = raw[2]
        self.key_specs = [pairs(s) for s in raw[8]]
        for spec in self.key_specs:
            for part in ("begin_search", "find_keys"):
                spec[part] = pairs(spec[part])
                spec[part]["spec"] = pairs(spec[part]["spec"])
        self.subcommands = sorted((Info(s) for s in raw[9] or []), key=lambda i: i.name.encode())


def refresh_snapshot(port):
    """Reads COMMAND INFO and COMMAND DOCS from our own server into the snapshot file."""
    with Server(port) as server:
        version = info_fields(server.client.call("INFO", "server"))["redis_version"]
        info = sorted_info(server.client.call("COMMAND", "INFO"))
        docs = {
            name: sorted_doc(doc)
            for name, doc in pairs(server.client.call("COMMAND", "DOCS")).items()
        }
    write_snapshot(version, info, docs)
    return version


def sorted_info(entries):
    """COMMAND INFO entries sorted by name, subcommands too (a server lists them in its hash
    table's order, which changes from one start to the next)."""
    out = []
    for raw in sorted(entries, key=lambda raw: raw[0].encode()):
        raw = list(raw)
        raw[9] = sorted_info(raw[9] or [])
        out.append(raw)
    return out


def sorted_doc(doc):
    """A COMMAND DOCS entry (a flat map) with its subcommands sorted by name, for the same
    reason."""
    doc = list(doc)
    for i in range(0, len(doc), 2):
        if doc[i] == "subcommands" and doc[i + 1]:
            subs = pairs(doc[i + 1])
            doc[i + 1] = [
                part
                for name in sorted(subs, key=str.encode)
                for part in (name, sorted_doc(subs[name]))
            ]
    return doc


def write_snapshot(version, info, docs):
    """One command per line, sorted, so a refresh from a newer Redis reads as a small diff."""
    lines = ["{", f'  "redis_version": {json.dumps(version)},', '  "command_info": [']
    lines.append(",\n".join("    " + json.dumps(raw, separators=(",", ":")) for raw in info))
    lines += ["  ],", '  "command_docs": {']
    lines.append(
        ",\n".join(
            f"    {json.dumps(name)}: " + json.dumps(docs[name], separators=(",", ":"))
            for name in sorted(docs, key=str.encode)
        )
    )
    lines += ["  }", "}", ""]
    SNAPSHOT.write_text("\n".join(lines), encoding="utf-8")


def load_snapshot():
    """(Redis version, COMMAND INFO entries sorted by name) from the snapshot file."""
    try:
        snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(
            f"{SNAPSHOT.relative_to(ROOT)} is missing: run {SCRIPT} --refresh"
        ) from None
    infos = sorted((Info(raw) for raw in snapshot["command_info"]), key=lambda i: i.name.encode())
    return snapshot["redis_version"], infos


# =============================================================================================
# COMMAND INFO -> rows -> Rust.


def key_spec(spec, name):
    """One Redis key spec as a Rust expression, or None when it names no routable key:
    a `not_key` spec (SPUBLISH's channel) or SORT's BY/GET patterns (keys named by the data,
    flagged DATA_KEYS instead)."""
    if "not_key" in spec.get("flags", []):
        return None
    begin, find = spec["begin_search"], spec["find_keys"]
    if begin["type"] == "unknown" or find["type"] == "unknown":
        notes = spec.get("notes", "")
        if "BY/GET" in notes:
            return None
        if "STORE" in notes:
            # SORT's STORE destination: found by walking SORT's grammar, as Redis does.
            return "ks(sort_store(), range(0, 1, 0))"
        raise SystemExit(f"{name}: an `unknown` key spec the generator has no rule for: {spec}")
    b, f = begin["spec"], find["spec"]
    if begin["type"] == "index":
        b = f"index({b['index']})"
    elif begin["type"] == "keyword":
        b = f"keyword({rust_str(b['keyword'])}, {b['startfrom']})"
    else:
        raise SystemExit(f"{name}: unknown begin_search type {begin['type']}")
    if find["type"] == "range":
        f = f"range({f['lastkey']}, {f['keystep']}, {f['limit']})"
    elif find["type"] == "keynum":
        f = f"keynum({f['keynumidx']}, {f['firstkey']}, {f['keystep']})"
    else:
        raise SystemExit(f"{name}: unknown find_keys type {find['type']}")
    maker = "ks_incomplete" if "incomplete" in spec.get("flags", []) else "ks"
    return f"{maker}({b}, {f})"


def data_keys(info):
    """SORT's BY/GET: keys named by the sorted data, which no client can route."""
    return any(
        s["begin_search"]["type"] == "unknown" and "BY/GET" in s.get("notes", "")
        for s in info.key_specs
    )


class Rows:
    def __init__(self, infos):
        self.seen = set()
        self.undecided = []
        self.rows = [self.row(info, None) for info in infos]

    def row(self, info, container_decision):
        self.seen.add(info.name)
        decision = decide(info.name, container_decision, info)
        if decision is None:
            self.undecided.append(info.name)
            decision = ("Single", None)
        strategy, extra = decision
        keys = [k for k in (key_spec(s, info.name) for s in info.key_specs) if k is not None]
        flags = [REDIS_FLAGS[f] for f in info.flags if f in REDIS_FLAGS]
        flags += [extra] if extra else []
        flags += ["DATA_KEYS"] if data_keys(info) else []
        # A container passes down only an explicit decision of its own (rule 1).
        own = STRATEGY.get(info.name)
        return {
            "full": info.name,
            "name": info.name.split("|")[-1],
            "arity": info.arity,
            "flags": flags,
            "keys": keys,
            "strategy": strategy,
            "subs": [self.row(s, own) for s in info.subcommands],
        }


def check_decisions(table):
    """Fail loudly rather than write a table with a guess in it."""
    problems = []
    if table.undecided:
        problems.append(
            "keyless admin commands need an explicit decision (FanOut, Single or Refused in the "
            "STRATEGY rules): " + " ".join(table.undecided)
        )
    invented = sorted(set(STRATEGY) - table.seen - IF_PRESENT)
    if invented:
        problems.append(
            "STRATEGY names commands this server does not have (typo?): " + " ".join(invented)
        )
    for row in all_rows(table.rows):
        strategy, name = row["strategy"], row["full"]
        if strategy.startswith(("Split", "Emulated")) and not row["keys"]:
            problems.append(f"{name}: {strategy} needs keys, the server lists none")
        if strategy.startswith(("FanOut", "Channel", "Walk")) and row["keys"]:
            problems.append(f"{name}: {strategy} is for keyless commands, the server lists keys")
    if problems:
        raise SystemExit("STRATEGY rules:\n  " + "\n  ".join(problems))


def all_rows(rows):
    for row in rows:
        yield row
        yield from row["subs"]


def render_row(r, indent):
    """One command per line; a container's subcommands on the lines below it."""
    pad = " " * indent
    flags = "Flags(" + (" | ".join(r["flags"]) or "0") + ")"
    keys = "&[" + ", ".join(r["keys"]) + "]"
    strategy = r["strategy"]
    head = f"{pad}cmd({rust_str(r['name'])}, {r['arity']}, {flags}, {keys}, {strategy}, "
    if not r["subs"]:
        return head + "&[]),\n"
    return head + "&[\n" + "".join(render_row(s, indent + 4) for s in r["subs"]) + pad + "]),\n"


def render_table(rows, version):
    flag_consts = "".join(
        f"const {f}: u16 = Flags::{f}.0;\n" for f in list(REDIS_FLAGS.values()) + OUR_FLAGS
    )
    return f"""//! The command table, generated by {SCRIPT} from the snapshot of Redis {version}'s
//! COMMAND INFO in tools/redis-commands.json; strategies come from the STRATEGY rules in that
//! script; edit the script, not this file.
//!
//! Rows are sorted bytewise by name, and so is each subcommand list (binary-searched).
//! `cmd(name, arity, flags, key specs, strategy, subcommands)`; key specs are Redis 7's:
//! `index(i)` or `keyword(word, start)`, then `range(last, step, limit)` or
//! `keynum(index, first, step)`; `ks_incomplete` carries Redis's `incomplete` flag.

use super::spec::Strategy::{{Channel, Emulated, FanOut, Refused, Session, Single, Split, Walk}};
use super::spec::{{
    CommandSpec, Destination, Emulation, End, Extreme, FanOutMerge, Flags, KeySpec, Pop,
    SessionCommand, SetOp, SplitMerge, Strategy, TimeoutAt, index, keynum, keyword, ks,
    ks_incomplete, range, sort_store,
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
{"".join(render_row(r, 4) for r in rows)}];
"""


def rustfmt(text):
    try:
        out = subprocess.run(
            ["rustfmt", "--edition", "2024", "--emit", "stdout", "--quiet"],
            input=text,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"rustfmt rejected the generated table:\n{e.stderr}") from None
    return out.stdout


def generate():
    version, infos = load_snapshot()
    table = Rows(infos)
    check_decisions(table)
    rows = list(all_rows(table.rows))
    counts = (len(table.rows), len(rows) - len(table.rows), sum(1 for r in rows if r["keys"]))
    return rustfmt(render_table(table.rows, version)), version, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if table.rs differs")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="read the snapshot from the installed redis-server first",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="loopback port for --refresh's own redis-server "
        "(default: TABLE_GENERATOR_PORT in tests/ports.env)",
    )
    args = parser.parse_args()
    if args.refresh:
        # SIGTERM unwinds like Ctrl-C, so the server is stopped on the way out.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        version = refresh_snapshot(args.port or generator_port())
        print(f"wrote {SNAPSHOT.relative_to(ROOT)}: Redis {version}")
    text, version, (commands, subcommands, keyed) = generate()
    rel = TABLE.relative_to(ROOT)
    if args.check:
        if not TABLE.exists() or TABLE.read_text(encoding="utf-8") != text:
            print(f"{rel} is out of date: run {SCRIPT}", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text, encoding="utf-8")
    print(
        f"wrote {rel}: Redis {version}, {commands} commands, {subcommands} subcommands, "
        f"{keyed} rows with keys"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
