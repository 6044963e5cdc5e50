"""Cross-language test: the same keys (ASCII, UTF-8, binary, tagged) written from Rust, Python and
PHP are found by the other two, on the same node, under the same stored name.

Run by `make cross-language` (part of `make test`): starts a tests/cluster.sh cluster on
CROSS_LANGUAGE_BASE_PORT, then for each writer language writes every key, and has every
language read every key back: each must see the writer's value and name the same node, and
the master that node names must hold the key's stored name (asked directly).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

import rediscluster

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("ascii", "utf8", "binary", "tag", "integer", "seed", "edge")


def port_base():
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        if line.startswith("CROSS_LANGUAGE_BASE_PORT="):
            return int(line.split("=", 1)[1])
    raise SystemExit("CROSS_LANGUAGE_BASE_PORT missing from tests/ports.env")


def vectors():
    """The golden vectors of these kinds, one per physical key: two keys that share a stored
    name on one node (``k{a}`` and ``k{b}`` can both be ``k`` on node_2) are one Redis key."""
    rows = json.loads((ROOT / "tests" / "vectors" / "placement.json").read_text())["vectors"]
    seen, kept = set(), []
    for row in rows:
        physical = (row["stored_b64"], row["nodes"][2])
        if row["kind"] in KINDS and physical not in seen:
            seen.add(physical)
            kept.append(row)
    return kept


class Python:
    name = "python"

    def __init__(self, config_path, keys):
        self.r = rediscluster.StrictRedisCluster(
            cluster=json.loads(Path(config_path).read_text()), mastersonly=True
        )
        self.keys = keys

    def write(self, prefix):
        pipe = self.r.pipeline(transaction=False)
        for i, key in enumerate(self.keys):
            pipe.set(key, f"{prefix}:{i}")
        pipe.execute()

    def read(self):
        values = [self.r.get(key) for key in self.keys]
        return [
            [next(iter(self.r.getnodefor(k))), v] for k, v in zip(self.keys, values, strict=True)
        ]


class External:
    """Rust or PHP, through their command-line client (same contract)."""

    def __init__(self, name, command, config_path, keys_path):
        self.name, self.command = name, command
        self.config_path, self.keys_path = config_path, keys_path

    def run(self, *args):
        return subprocess.run(
            [*self.command, self.config_path, self.keys_path, *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def write(self, prefix):
        self.run("write", prefix)

    def read(self):
        return [
            [node, None if value is None else base64.b64decode(value)]
            for node, value in json.loads(self.run("read"))
        ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--php", required=True, help="how to run PHP with the extension loaded")
    args = parser.parse_args()

    base = port_base()
    rows = vectors()
    keys = [base64.b64decode(row["key_b64"]) for row in rows]
    state = tempfile.mkdtemp(prefix="rediscluster-cross-")
    env = dict(os.environ, REDISCLUSTER_DEV_DIR=state)
    cluster_sh = str(ROOT / "tests" / "cluster.sh")
    subprocess.run([cluster_sh, "start", str(base)], check=True, env=env, stdout=subprocess.DEVNULL)
    try:
        config = subprocess.run(
            [cluster_sh, "config", str(base)], check=True, env=env, capture_output=True, text=True
        ).stdout
        config_path = Path(state) / "cluster.json"
        config_path.write_text(config)
        keys_path = Path(state) / "keys.json"
        keys_path.write_text(json.dumps([row["key_b64"] for row in rows]))
        rust = ROOT / "target" / "release" / "examples" / "cross_language"
        languages = [
            External("rust", [str(rust)], str(config_path), str(keys_path)),
            Python(config_path, keys),
            External(
                "php",
                [*shlex.split(args.php), str(Path(__file__).with_name("client.php"))],
                str(config_path),
                str(keys_path),
            ),
        ]
        masters = [redis.Redis(port=base + i) for i in range(3)]
        failures = 0
        for writer in languages:
            for master in masters:
                master.flushall()
            writer.write(writer.name)
            expected = [f"{writer.name}:{i}".encode() for i in range(len(keys))]
            for reader in languages:
                seen = reader.read()
                before = failures
                for row, (node, value), want in zip(rows, seen, expected, strict=True):
                    node_number = row["nodes"][2]
                    stored = base64.b64decode(row["stored_b64"])
                    held = masters[node_number - 1].get(stored)
                    if node != f"node_{node_number}" or value != want or held != want:
                        failures += 1
                        print(
                            f"{writer.name} -> {reader.name}: {row['key_b64']}: node {node}, "
                            f"value {value!r}, held {held!r}",
                            file=sys.stderr,
                        )
                print(
                    f"written by {writer.name:<6} read by {reader.name:<6}: {len(rows)} keys, "
                    f"same node and value: {'yes' if failures == before else 'NO'}"
                )
        if failures:
            raise SystemExit(f"{failures} disagreements between languages")
        kinds = sorted({row["kind"] for row in rows})
        print(f"{len(rows)} keys ({', '.join(kinds)}) agree across Rust, Python and PHP")
    finally:
        subprocess.run([cluster_sh, "stop", str(base)], env=env, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
