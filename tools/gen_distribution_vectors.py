#!/usr/bin/env python3
"""Record tests/vectors/distributions.json by running the peers themselves.

For each compatible distribution (``redisarray``, ``predis``, ``twemproxy``) the peer's own
client-side sharding writes every vector key to real redis-servers started here: phpredis's
RedisArray (Debian ``php-redis``) and Predis (``php-nrk-predis``) through
``tools/distribution_peers.php``, twemproxy through a ``nutcracker`` (Debian ``nutcracker``)
started here with each hash and distribution. Then every server is scanned and the server that
holds each key is recorded. Nothing is computed here: the peers are the oracle, and the Rust,
Python and PHP suites must agree with them on every key.

Each case is a whole cluster config (the peer's settings as this project's ``distribution``
option, the servers as ``nodes`` with their weights and ring names) and, per key, the node
number the peer chose. The addresses are part of the vectors (the rings hash them): the
suites place keys by config alone and never connect to them.

Usage (needs php-redis, php-nrk-predis, nutcracker, redis-server and redis-py)
  make distribution-vectors        (or: .venv/bin/python tools/gen_distribution_vectors.py)
"""

import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "distributions.json"
SERVERS = 4


def ports():
    """DISTRIBUTION_VECTORS_BASE_PORT from tests/ports.env: the servers, then nutcracker."""
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        if line.startswith("DISTRIBUTION_VECTORS_BASE_PORT="):
            base = int(line.split("=", 1)[1])
            return list(range(base, base + SERVERS)), base + SERVERS
    raise SystemExit("DISTRIBUTION_VECTORS_BASE_PORT missing from tests/ports.env")


def server_args():
    args = []
    for line in (ROOT / "tests" / "redis-server.args").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            args += [name, "" if value == '""' else value]
    return args


def keys():
    """About 12,000 distinct keys: ASCII, UTF-8, binary (NUL and high bytes), integers, and
    tagged in every shape the peers' tag rules tell apart."""
    rng = random.Random(16)
    out = []
    out += [
        b"foo",
        b"bar",
        b"bar{foo}",
        b"{",
        b"}",
        b"{}",
        b"}{",
        b"a{}",
        b"{}a",
        b"a{b}",
        b"{a}b",
        b"a{b}c",
        b"a{b}{c}",
        b"{{a}}",
        b"a{{b}}",
        b"a{b",
        b"a}b{c}",
        b"a{}{b}",
        b"\x00{a}",
        b"a\x00{b}",
        b"{a\x00b}",
        b"{\x00}",
        b"a{\xff}",
        b"{\x80\x81}x",
    ]
    printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-/.@ "
    for _ in range(3500):
        out.append("".join(rng.choice(printable) for _ in range(rng.randint(1, 40))).encode())
    alphabet = "aé漢字кириллицаüß€😀🎉ñ中文日本語한국어"
    for _ in range(2500):
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))).encode())
    for _ in range(2500):
        out.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 24))))
    for n in range(200):
        out.append(str(rng.choice([n, -n, rng.randrange(10**12), -rng.randrange(10**18)])).encode())
    pieces = [b"", b"user", b"lock:", b":", b"x", "ü".encode(), b"\xfe\x00", b"}", b"{"]
    for _ in range(5000):
        tag = rng.choice(
            [
                b"",
                b"t",
                b"user:42",
                "σ".encode(),
                b"\x01\xff",
                str(rng.randrange(1000)).encode(),
                bytes(rng.randrange(256) for _ in range(3)),
            ]
        )
        before, after = rng.choice(pieces), rng.choice(pieces)
        shape = rng.randrange(4)
        if shape == 0:
            out.append(before + b"{" + tag + b"}" + after)
        elif shape == 1:
            out.append(b"{" + tag + b"}" + after)
        elif shape == 2:
            out.append(before + b"{" + tag + b"}{" + rng.choice(pieces) + b"}")
        else:
            out.append(before + b"{" + tag + after)
    seen, unique = set(), []
    for key in out:
        if key and key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


def kind_of(key):
    if b"{" in key or b"}" in key:
        return "tag"
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    if text.lstrip("-").isdigit():
        return "integer"
    return "ascii" if text.isascii() else "utf8"


def cases(server_ports):
    """Each case: its name, the peer that writes, its servers (port, weight, name), and this
    project's config for it."""
    out = []
    for consistent in (False, True):
        name = "redisarray-consistent" if consistent else "redisarray"
        out.append(
            (
                name,
                "redisarray",
                [(p, None, None) for p in server_ports],
                {"name": "redisarray", "consistent": consistent},
            )
        )
    out.append(("predis", "predis", [(p, None, None) for p in server_ports], "predis"))
    weights = [100, 250, 50, 100]
    out.append(
        (
            "predis-weighted",
            "predis",
            [(p, w, None) for p, w in zip(server_ports, weights, strict=True)],
            "predis",
        )
    )
    hashes = [
        "fnv1a_64",
        "md5",
        "crc32a",
        "murmur",
        "fnv1_64",
        "fnv1_32",
        "fnv1a_32",
        "one_at_a_time",
        "crc32",
    ]
    for dispatch in ("ketama", "modula"):
        for at, hash_name in enumerate(hashes):
            tag = "{}" if at % 3 != 2 else None
            spec = {"name": "twemproxy", "distribution": dispatch, "hash": hash_name}
            if tag:
                spec["hash_tag"] = tag
            out.append(
                (
                    f"twemproxy-{dispatch}-{hash_name}",
                    "twemproxy",
                    [(p, None, None) for p in server_ports],
                    spec,
                )
            )
        weighted = [
            (p, w, n)
            for p, w, n in zip(
                server_ports,
                [1, 3, 2, 1],
                [None, "alpha", None, "a-much-longer-server-name"],
                strict=True,
            )
        ]
        out.append(
            (
                f"twemproxy-{dispatch}-weighted-named",
                "twemproxy",
                weighted,
                {
                    "name": "twemproxy",
                    "distribution": dispatch,
                    "hash": "fnv1a_64",
                    "hash_tag": "{}",
                },
            )
        )
    return out


def config_of(servers, spec):
    nodes = {}
    for i, (port, weight, name) in enumerate(servers):
        node = {"host": "127.0.0.1", "port": port}
        if weight is not None:
            node["weight"] = weight
        if name is not None:
            node["ring_name"] = name
        nodes[f"node_{i + 1}"] = node
    return {"nodes": nodes, "distribution": spec, "mastersonly": True}


def write_through_php(peer, servers, keys_file):
    args = []
    for port, weight, _ in servers:
        args.append(f"127.0.0.1:{port}" + (f":{weight}" if weight is not None else ""))
    mode = peer
    subprocess.run(
        ["php", str(ROOT / "tools" / "distribution_peers.php"), mode, keys_file, *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def write_through_nutcracker(spec, servers, listen, workdir, all_keys):
    lines = [
        "pool:",
        f"  listen: 127.0.0.1:{listen}",
        "  redis: true",
        f"  hash: {spec['hash']}",
        f"  distribution: {spec['distribution']}",
        "  auto_eject_hosts: false",
        "  timeout: 4000",
    ]
    if "hash_tag" in spec:
        lines.append(f'  hash_tag: "{spec["hash_tag"]}"')
    lines.append("  servers:")
    for port, weight, name in servers:
        entry = f"   - 127.0.0.1:{port}:{weight or 1}"
        if name:
            entry += f" {name}"
        lines.append(entry)
    conf = Path(workdir) / "nutcracker.yml"
    conf.write_text("\n".join(lines) + "\n")
    proxy = subprocess.Popen(
        ["nutcracker", "-c", str(conf), "-o", str(Path(workdir) / "nc.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(listen)
        # nutcracker knows neither HELLO nor CLIENT SETINFO: a bare RESP2 connection.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client = redis.Redis(port=listen, protocol=2, lib_name=None, lib_version=None)
        for start in range(0, len(all_keys), 500):
            pipe = client.pipeline(transaction=False)
            for key in all_keys[start : start + 500]:
                pipe.set(key, b"1")
            if not all(pipe.execute()):
                raise SystemExit("nutcracker refused a key")
        client.close()
    finally:
        proxy.terminate()
        proxy.wait()


def wait_for(port):
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def holders(server_ports, all_keys):
    """Which server (1-based) holds each key; every key must be on exactly one."""
    where = {}
    for number, port in enumerate(server_ports, start=1):
        for key in redis.Redis(port=port).scan_iter(count=1000):
            if key in where:
                raise SystemExit(f"{key!r} is on two servers")
            where[key] = number
    missing = [k for k in all_keys if k not in where]
    if missing or len(where) != len(all_keys):
        raise SystemExit(f"{len(missing)} keys missing, {len(where)} found for {len(all_keys)}")
    return "".join(str(where[k]) for k in all_keys)


def main():
    for tool in ("php", "nutcracker", "redis-server"):
        if not shutil.which(tool):
            needed = "php-redis php-nrk-predis nutcracker redis-server"
            raise SystemExit(f"{tool} is needed (apt-get install {needed})")
    server_ports, listen = ports()
    all_keys = keys()
    workdir = tempfile.mkdtemp(prefix="rc-distvec-")
    keys_file = str(Path(workdir) / "keys.b64")
    Path(keys_file).write_text("".join(base64.b64encode(k).decode() + "\n" for k in all_keys))
    servers = [
        subprocess.Popen(
            ["redis-server", "--port", str(p), "--dir", workdir, *server_args()],
            stdout=subprocess.DEVNULL,
        )
        for p in server_ports
    ]
    recorded = []
    try:
        for p in server_ports:
            wait_for(p)
        for name, peer, case_servers, spec in cases(server_ports):
            for p in server_ports:
                redis.Redis(port=p).flushall()
            if peer == "twemproxy":
                write_through_nutcracker(spec, case_servers, listen, workdir, all_keys)
            else:
                write_through_php(name if peer == "redisarray" else peer, case_servers, keys_file)
            nodes = holders(server_ports, all_keys)
            counts = [nodes.count(str(i)) for i in range(1, SERVERS + 1)]
            print(f"{name:40} keys per server {counts}", file=sys.stderr)
            recorded.append(
                {
                    "name": name,
                    "peer": peer,
                    "config": config_of(case_servers, spec),
                    "nodes": nodes,
                }
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    versions = {
        "phpredis": subprocess.run(
            ["php", "-r", "echo phpversion('redis');"], capture_output=True, text=True
        ).stdout.strip(),
        "predis": subprocess.run(
            [
                "php",
                "-r",
                "require '/usr/share/php/Predis/Autoloader.php';"
                " Predis\\Autoloader::register(); echo Predis\\Client::VERSION;",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "nutcracker": subprocess.run(["nutcracker", "--version"], capture_output=True, text=True)
        .stderr.split("\n")[0]
        .split("-")[-1],
    }
    document = {
        "about": "Which server each peer's own client-side sharding put each key on, recorded by "
        "running the peers (never computed). cases[i].nodes[j] is the node number "
        "(node_K of cases[i].config) of keys_b64[j].",
        "generator": "tools/gen_distribution_vectors.py",
        "peers": versions,
        "keys_b64": [base64.b64encode(k).decode() for k in all_keys],
        "kinds": [kind_of(k) for k in all_keys],
        "cases": recorded,
    }
    OUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(all_keys)} keys, {len(recorded)} cases",
        file=sys.stderr,
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
