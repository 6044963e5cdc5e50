#!/usr/bin/env python3
"""Generate tests/vectors/placement_modes.json: the vectors of the opt-in placement modes.

The independent oracle of the modes a config may choose beside the default contract
(tests/vectors/placement.json, which this file never changes). Standard library only: Python's
``re`` and ``binascii.crc32``, never project code, so the Rust engine (which Python and PHP
reach through their bindings) is checked against something it did not write.

Modes (each a "config" fragment the suites merge into a cluster config)
  * ``tags: "keep"``: a key is routed by Redis Cluster's hash tag - the bytes between the first
    ``{`` and the first ``}`` after it, when at least one byte lies between them, else the whole
    key - and stored under its full name.
  * ``routing_rules: [...]``: rules are tried in order, the first that matches wins; the route
    is the group named ``route`` if the rule has one, else group 1; a match whose route is
    empty (or whose group took no part) is no match, so the next rule is tried; the stored name
    is always the full key. A key no rule matches follows the tag mode (strip by default: the
    seed's rule, ``real{tag}`` at the end stored as ``real``).
  * The node is ``crc32(route) % N + 1``, as in the contract.

Rules are Rust ``regex`` syntax matched on bytes with Unicode off. The rules below keep to what
Python's ``re`` on bytes reads the same way, with one translation: Rust's ``$`` (no ``m`` flag)
is the very end of the key, Python's ``\\Z`` (Python's ``$`` also matches before a final newline).

Every expectation is derived here; none is typed by hand. Output reproducible byte for byte.

Usage
  python3 tools/gen_placement_modes_vectors.py          rewrite tests/vectors/placement_modes.json
  python3 tools/gen_placement_modes_vectors.py --check  exit 1 if the file on disk differs (CI)

Each vector: kind, key_b64, key (only if valid UTF-8), int (only for integer keys), route_b64,
stored_b64, rule (the 0-based index of the rule that placed it, or null), nodes (nodes[i] = node
number with i+1 masters).
"""

import argparse
import base64
import binascii
import json
import random
import re
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import gen_placement_vectors as contract  # noqa: E402  (the sibling oracle: its keys only)

MAX_MASTERS = 16
SEED = 20261202
OUTPUT = TOOLS.parent / "tests/vectors/placement_modes.json"
GENERATOR = "tools/gen_placement_modes_vectors.py"

RULES = [
    # python-redis-lock's two keys of one lock, together.
    r"^lock(?:-signal)?:(.+)$",
    # A named route group that is not the first group.
    r"^session:(\d+):(?P<route>[^:]+)$",
    # A route group that may be empty: such a match is skipped.
    r"^cache:([a-z]*)/",
]
MODES = [
    ("keep", {"tags": "keep"}),
    ("rules", {"routing_rules": RULES}),
    ("rules-keep", {"tags": "keep", "routing_rules": RULES}),
]


# --------------------------------------------------------------------------------------------
# The modes
# --------------------------------------------------------------------------------------------


def strip_tag(key: bytes) -> tuple[bytes, bytes]:
    """The seed's rule (the contract): (route, stored)."""
    if key.endswith(b"}"):
        open_at = key.rfind(b"{")
        real, tag = key[:open_at], key[open_at + 1 : -1]
        if open_at >= 0 and real and tag:
            return tag, real
    return key, key


def cluster_tag(key: bytes) -> bytes:
    """Redis Cluster's hash tag, or the whole key."""
    open_at = key.find(b"{")
    if open_at < 0:
        return key
    close = key.find(b"}", open_at + 1)
    if close <= open_at + 1:
        return key
    return key[open_at + 1 : close]


def python_rule(rule: str) -> re.Pattern:
    """A rule as Python's ``re`` reads it on bytes (Rust's end-of-text ``$`` is ``\\Z``)."""
    return re.compile(re.sub(r"\$$", r"\\Z", rule).encode("ascii"))


def place(key: bytes, config: dict) -> tuple[bytes, bytes, object]:
    """(route, stored, rule index or None) of a key under a mode's config."""
    for index, rule in enumerate(config.get("routing_rules", [])):
        pattern = python_rule(rule)
        found = pattern.search(key)
        if not found:
            continue
        group = "route" if "route" in pattern.groupindex else 1
        route = found.group(group)
        if route:  # an empty route (or a group that took no part) is no match
            return route, key, index
    if config.get("tags", "strip") == "keep":
        return cluster_tag(key), key, None
    route, stored = strip_tag(key)
    return route, stored, None


def node_numbers(route: bytes) -> list[int]:
    checksum = binascii.crc32(route) & 0xFFFFFFFF
    return [checksum % n + 1 for n in range(1, MAX_MASTERS + 1)]


def vector(kind: str, key: bytes, integer, config: dict) -> dict:
    route, stored, rule = place(key, config)
    row = {"kind": kind, "key_b64": contract.b64(key)}
    if contract.as_text(key) is not None:
        row["key"] = contract.as_text(key)
    if integer is not None:
        row["int"] = integer
    row["route_b64"] = contract.b64(route)
    row["stored_b64"] = contract.b64(stored)
    row["rule"] = rule
    row["nodes"] = node_numbers(route)
    return row


# --------------------------------------------------------------------------------------------
# The keys: every key of the contract's file, and keys for the modes
# --------------------------------------------------------------------------------------------


def mode_keys(rng: random.Random) -> list[bytes]:
    names = [
        b"job",
        b"a",
        "café".encode(),
        "键".encode(),
        b"\xff\xfe",
        b"\x00",
        b"a{t}",
        b"{t}",
        b"with space",
        b"a:b:c",
    ]
    keys = []
    for name in names:
        keys += [b"lock:" + name, b"lock-signal:" + name]
    keys += [
        b"lock:",
        b"lock-signal:",
        b"lock:a\n",
        b"lock:\na",
        b"xlock:a",
        b"LOCK:a",
        b"lock-:a",
        b"lock-signal-x:a",
        b"session:42:abc",
        b"session:42:abc:def",
        b"session:x:abc",
        b"session::abc",
        b"session:7:\xff",
        b"cache:abc/x",
        b"cache:/x",
        b"cache:ABC/x",
        b"cache:abc/",
        b"lock:cache:abc/x",
        b"LIMITS:{LIMITER/user1/5/1/minute}",
        b"LIMITS:{LIMITER/user2/5/1/minute}",
        b"LIMITS:",
        b"LIMITER/user1/5/1/minute",
        b"{user1}:followers",
        b"{user1}:following",
        b"user1",
        b"rq:job:{q}:1",
        b"a{}{b}",
        b"{}{b}",
        b"a{b}{c}",
        b"{{b}}",
        b"}{",
        b"}{a}",
        b"a{b}c{d}",
    ]
    # Random keys with a tag anywhere, and random lock names.
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:/_-{}"
    for _ in range(120):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        keys.append(text.encode("ascii"))
    for _ in range(40):
        name = bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 12)))
        keys.append(rng.choice([b"lock:", b"lock-signal:"]) + name)
    return keys


def key_list() -> list[tuple[str, bytes, object]]:
    """(kind, key, int) for every key, each once: the contract's keys first, in its order."""
    rows, seen = [], set()
    for row in contract.build()["vectors"]:
        key = base64.b64decode(row["key_b64"])
        seen.add(key)
        rows.append((row["kind"], key, row.get("int")))
    for key in mode_keys(random.Random(SEED)):
        if key not in seen:
            seen.add(key)
            rows.append(("mode", key, None))
    return rows


# --------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------


def build() -> dict:
    keys = key_list()
    modes = []
    for name, config in MODES:
        rows = [vector(kind, key, integer, config) for kind, key, integer in keys]
        modes.append({"name": name, "config": config, "vectors": rows})
    self_check(modes)
    return {
        "contract": (
            "routing_rules first (in order, first match wins, route = group 'route' or group 1, "
            "an empty route is no match, stored = the full key), then the tag mode: 'keep' routes "
            "by Redis Cluster's tag (first '{' to the first '}' after it, non-empty) and stores "
            "the full key; 'strip' is the contract of placement.json; node = crc32(route) % N + 1"
        ),
        "generator": GENERATOR,
        "max_masters": MAX_MASTERS,
        "modes": modes,
    }


def self_check(modes: list[dict]) -> None:
    """Sanity checks of the oracle itself, so a broken generator cannot write a file."""
    keep, rules = {"tags": "keep"}, {"routing_rules": RULES}
    assert cluster_tag(b"LIMITS:{LIMITER/user1/5/1/minute}") == b"LIMITER/user1/5/1/minute"
    assert cluster_tag(b"{user1}:followers") == b"user1"
    for verbatim in (b"a{}", b"a{}{b}", b"}{", b"{", b""):
        assert cluster_tag(verbatim) == verbatim, verbatim
    assert cluster_tag(b"{{b}}") == b"{b"
    assert place(b"LIMITS:{a}", keep)[1] == b"LIMITS:{a}"
    assert place(b"LIMITS:{a}", rules)[1] == b"LIMITS:"
    assert place(b"lock:a", rules) == (b"a", b"lock:a", 0)
    assert place(b"lock-signal:a", rules) == (b"a", b"lock-signal:a", 0)
    assert place(b"lock:a{t}", rules) == (b"a{t}", b"lock:a{t}", 0)
    assert place(b"lock:", rules) == (b"lock:", b"lock:", None)
    assert place(b"lock:a\n", rules)[2] is None, "Rust's $ is the end of the key"
    assert place(b"session:42:abc", rules) == (b"abc", b"session:42:abc", 1)
    assert place(b"cache:/x", rules)[2] is None, "an empty route is no match"
    assert place(b"lock:cache:abc/x", rules)[2] == 0, "the first rule that matches wins"
    for mode in modes:
        placed = [r for r in mode["vectors"] if r["rule"] is not None]
        assert ("routing_rules" in mode["config"]) == bool(placed), mode["name"]
        for index in range(len(mode["config"].get("routing_rules", []))):
            assert any(r["rule"] == index for r in placed), (mode["name"], index)


def render(data: dict) -> str:
    """JSON with one vector per line: readable, and its diffs short."""
    dump = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    lines = ["{"]
    for field in ("contract", "generator", "max_masters"):
        lines.append(f"  {dump(field)}: {dump(data[field])},")
    lines.append('  "modes": [')
    for m, mode in enumerate(data["modes"]):
        head = f'"name": {dump(mode["name"])}, "config": {dump(mode["config"])}'
        lines.append(f'    {{{head}, "vectors": [')
        rows = [f"      {dump(row)}" for row in mode["vectors"]]
        lines.append(",\n".join(rows))
        lines.append("    ]}" + ("," if m < len(data["modes"]) - 1 else ""))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file differs")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        on_disk = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if on_disk != text:
            print(f"{OUTPUT} is out of date: run python3 {GENERATOR}", file=sys.stderr)
            return 1
        print(f"{OUTPUT.name}: up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
