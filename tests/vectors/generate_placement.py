#!/usr/bin/env python3
"""Generate tests/vectors/placement.json: the golden placement vectors.

This script is the independent oracle of the placement contract. It uses only Python's
standard library (``binascii.crc32``), never project code, so that the Rust, Python and PHP
implementations are all checked against something none of them wrote.

Contract: a key goes to ``node_{(crc32(route) % N) + 1}`` (IEEE CRC-32, unsigned). A key of the
form ``real{tag}`` - it ends with ``}``, the tag opens at the LAST ``{``, both ``real`` and
``tag`` non-empty - is routed by ``tag`` and stored as ``real``; any other key is routed and
stored verbatim.

Changing an expectation in the generated file is a breaking change for every user's stored
data. Run with ``--check`` (CI) to verify the file on disk matches what this script produces.
"""

import argparse
import base64
import binascii
import json
import random
import sys
from pathlib import Path

MAX_MASTERS = 16
OUTPUT = Path(__file__).resolve().parent / "placement.json"
CONTRACT = (
    "node = crc32(route_bytes) % N + 1 (IEEE CRC-32, unsigned); a key real{tag} that ends with '}', "
    "whose tag opens at the last '{', with real and tag non-empty, is routed by tag and stored as real; "
    "any other key is routed and stored verbatim"
)


def split_tag(key: bytes) -> tuple[bytes, bytes, bool]:
    """(route, stored, tagged) by the hash-tag rule."""
    if key.endswith(b"}"):
        body = key[:-1]
        open_at = body.rfind(b"{")
        if open_at > 0 and open_at < len(body) - 1:
            return body[open_at + 1 :], body[:open_at], True
    return key, key, False


def crc(data: bytes) -> int:
    return binascii.crc32(data) & 0xFFFFFFFF


def text_or_none(data: bytes):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def vector(kind: str, key: bytes, integer=None) -> dict:
    route, stored, tagged = split_tag(key)
    row = {"kind": kind, "key_b64": base64.b64encode(key).decode("ascii")}
    if text_or_none(key) is not None:
        row["key"] = key.decode("utf-8")
    if integer is not None:
        row["int"] = integer
    row["route_b64"] = base64.b64encode(route).decode("ascii")
    row["stored_b64"] = base64.b64encode(stored).decode("ascii")
    if text_or_none(stored) is not None:
        row["stored"] = stored.decode("utf-8")
    row["tagged"] = tagged
    row["nodes"] = [crc(route) % n + 1 for n in range(1, MAX_MASTERS + 1)]
    return row


def seed_keys():
    return [b"foo", b"bar", b"bar{foo}", b"foobar"]


def ascii_keys(rng: random.Random):
    keys = [b"", b"a", b"A", b"0", b" ", b"key", b"user:1000", b"user:1000:profile",
            b"session:abcdef0123456789", b"cache/page/index.html", b"a b c", b"tab\tkey",
            b"line\nbreak", b"quote\"key", b"back\\slash", b"percent%20key", b"~!@#$%^&*()_+",
            b"x" * 16, b"y" * 64, b"z" * 255, b"k" * 1024]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-./"
    for length in (16, 64):
        for _ in range(20):
            keys.append("".join(rng.choice(alphabet) for _ in range(length)).encode())
    for _ in range(90):
        length = rng.randint(1, 40)
        keys.append("".join(rng.choice(alphabet) for _ in range(length)).encode())
    return keys


def utf8_keys(rng: random.Random):
    words = ["café", "cafe\u0301", "naïve", "Zürich", "straße", "résumé", "日本語", "键", "키",
             "中文键名", "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी", "ไทย",
             "🔑", "👍🏽", "👨‍👩‍👧", "🇫🇷", "emoji🔑key", "mixed:日本:café:🔑", "\u00a0nbsp",
             "\u200bzero-width", "ｆｕｌｌｗｉｄｔｈ", "Ω≈ç√∫", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]
    keys = [w.encode("utf-8") for w in words]
    pool = "éèàçüößøåæœ日本語中文键키한국어Ωπλ🔑👍🏽🎉ñ"
    while len(keys) < 100:
        length = rng.randint(1, 12)
        keys.append("".join(rng.choice(pool) for _ in range(length)).encode("utf-8"))
    return keys


def binary_keys(rng: random.Random):
    keys = [bytes([b]) for b in range(256)]
    keys += [b"\x00", b"\x00\x00", b"a\x00b", b"\xff\xfe\xfd", b"\x80abc", b"\xc3\x28",
             b"\xed\xa0\x80", b"key\xff"]
    for _ in range(40):
        keys.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 32))))
    return keys


def integer_keys(rng: random.Random):
    ints = [0, 1, -1, 7, 42, 100, 1000, 65535, 2**31 - 1, 2**31, 2**32, -(2**31), 2**63 - 1, -(2**63)]
    while len(ints) < 60:
        ints.append(rng.randint(-(10**12), 10**12))
    return ints


def tag_keys():
    edges = [b"a{b}", b"{b}", b"a{}", b"a{b}c", b"a{b}{c}", b"a{{b}}", b"}", b"{", b"{}", b"}{",
             b"{{}}", b"a{b", b"ab}", b"{a}b", b"a}b{c}", b"a{b}}", b"a{{b}", b"x{y}z{w}",
             b"{tag}", b"{tag}key", b"user{1000}:x", b"{user1000}.following", b"profile{user1000}",
             b"followers{user1000}", b"user1000", b"bar{foo}", b"baz{foo}", b"a{foo}", b"b{bar}",
             b"a{ }", b"{ }x{ }", b"a{b}{}", b"a{}{b}", b"real{tag{inner}}"]
    tags = [b"foo", b"bar", b"user:1000", b"t", b"1", "café".encode(), "键".encode(),
            "🔑".encode(), b"\x00", b"\xff\x80", b"a b"]
    reals = [b"k", b"session", "名前".encode(), b"\x00bin", b"x{y}"]
    keys = list(edges)
    for tag in tags:
        for real in reals:
            keys.append(real + b"{" + tag + b"}")
        keys.append(tag)  # the tag as a plain key: co-locates with the tagged keys above
    return keys


def build() -> dict:
    rng = random.Random(20131125)  # fixed: the file must be reproducible byte for byte
    rows = [vector("seed", k) for k in seed_keys()]
    rows += [vector("ascii", k) for k in ascii_keys(rng)]
    rows += [vector("utf8", k) for k in utf8_keys(rng)]
    rows += [vector("binary", k) for k in binary_keys(rng)]
    rows += [vector("integer", str(i).encode(), integer=i) for i in integer_keys(rng)]
    rows += [vector("tag", k) for k in tag_keys()]
    rows = first_of_each_key(rows)
    check(rows)
    return {
        "contract": CONTRACT,
        "generator": "tests/vectors/generate_placement.py",
        "max_masters": MAX_MASTERS,
        "vectors": rows,
    }


def first_of_each_key(rows):
    """Each key once (a tag reappears as a plain key, single bytes overlap ASCII keys)."""
    seen = set()
    unique = []
    for row in rows:
        if row["key_b64"] not in seen:
            seen.add(row["key_b64"])
            unique.append(row)
    return unique


def check(rows):
    """Sanity checks of the oracle itself, so a broken generator cannot write a file."""
    by_key = {r["key_b64"]: r for r in rows}
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    assert by_key[b64(b"foo")]["nodes"][1] == 2, "seed: foo on node_2 with 2 masters"
    assert by_key[b64(b"bar")]["nodes"][1] == 1, "seed: bar on node_1 with 2 masters"
    assert by_key[b64(b"bar{foo}")]["nodes"] == by_key[b64(b"foo")]["nodes"]
    assert split_tag(b"a{{b}}") == (b"b}", b"a{", True)
    assert split_tag(b"a{b}{c}") == (b"c", b"a{b}", True)
    for verbatim in (b"{b}", b"a{}", b"a{b}c", b"}", b"{"):
        assert split_tag(verbatim) == (verbatim, verbatim, False)
    high = sum(1 for r in rows if crc(base64.b64decode(r["route_b64"])) >= 2**31)
    assert high >= 100, f"only {high} vectors with crc32 >= 2**31"
    assert len(rows) >= 600, len(rows)


def render(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file on disk differs")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    counts = {}
    for row in build()["vectors"]:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    print(f"wrote {OUTPUT}: {sum(counts.values())} vectors {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
